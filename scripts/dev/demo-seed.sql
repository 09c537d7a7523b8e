-- trimtab demo state, for the local stack only (scripts/dev/db.ts loads it after
-- supabase/seed.sql on a fresh dev database; it is never pushed to a project): the flags of
-- examples/demo-snapshot.json with ramps in progress, a targeting rule, variants, a schedule step
-- and the demo override for user-42. Audited as actor "seed". No absolute timestamps: the schedule
-- step and the override's expiry are counted from the time it runs, so the demo behaves the same
-- whatever the date.
begin;

select set_config('trimtab.actor', 'seed', true),
       set_config('trimtab.action', 'seed', true),
       set_config('trimtab.reason', 'demo seed', true);

update trimtab.feature_flags set enabled = true, rollout_percentage = 100
 where key = 'FEATURE_AGENT_CHAT';
update trimtab.feature_flags
   set enabled = true, rollout_percentage = 5,
       rules = '[{"condition": {"email": {"$regex": "@trimtab\\.dev$"}}, "rollout": 100}]'
 where key = 'phoenix_pipeline_enabled';
update trimtab.feature_flags
   set enabled = true, rollout_percentage = 25,
       variants = '[{"key": "original", "weight": 50}, {"key": "optimized", "weight": 50}]'
 where key = 'USE_OPTIMIZED_PROMPTS';
update trimtab.feature_flags set enabled = true, rollout_percentage = 100
 where key = 'USE_CIRCUIT_BREAKER';
update trimtab.feature_flags set enabled = true, rollout_percentage = 0
 where key = 'ENFORCE_CIRCUIT_BREAKER';
update trimtab.feature_flags
   set enabled = true, rollout_percentage = 50,
       rules = '[{"condition": {"country": {"$in": ["RW", "KE"]}}, "rollout": 100}]'
 where key = 'USE_RESPONSE_CACHE';
update trimtab.feature_flags
   set enabled = true, rollout_percentage = 10,
       schedule = jsonb_build_array(jsonb_build_object(
         'at', to_char((now() + interval '7 days') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'rollout', 50))
 where key = 'FEATURE_AGENT_VOUCHERS';

insert into trimtab.user_feature_overrides (flag_key, unit, enabled, expires_at, reason)
values ('phoenix_pipeline_enabled', 'user-42', false, now() + interval '30 days', 'reported a wrong voucher amount')
on conflict (flag_key, unit) do nothing;

commit;
