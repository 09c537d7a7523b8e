-- trimtab demo flags (as in examples/demo-snapshot.json, plus FEATURE_AGENT_CUSTOMER_LOOKUP off).
-- Safe to run more than once: existing rows are left alone. Audited as actor "seed".
-- One transaction, so the trimtab.* settings (transaction-local) reach the audit trigger.
-- No absolute timestamps: the demo schedule step and the override's expiry are computed from the
-- time the seed runs, so the seeded state behaves the same whatever the date.
begin;

select set_config('trimtab.actor', 'seed', true),
       set_config('trimtab.action', 'seed', true),
       set_config('trimtab.reason', 'demo seed', true);

insert into trimtab.feature_flags
  (key, enabled, rollout_percentage, stages, rules, variants, prerequisites, schedule, client_visible, description)
values
  ('FEATURE_AGENT_CHAT', true, 100, null, null, null, null, null, true,
   'WhatsApp chat agent'),
  ('phoenix_pipeline_enabled', true, 5, '{0.1,1,5,25,50,100}',
   '[{"condition": {"email": {"$regex": "@trimtab\\.dev$"}}, "rollout": 100}]',
   null,
   '[{"flag": "FEATURE_AGENT_CHAT", "enabled": true}]',
   null, true,
   'new AI pipeline instead of the legacy command parser'),
  ('USE_OPTIMIZED_PROMPTS', true, 25, '{5,25,50,100}', null,
   '[{"key": "original", "weight": 50}, {"key": "optimized", "weight": 50}]',
   null, null, true, null),
  ('USE_CIRCUIT_BREAKER', true, 100, null, null, null, null, null, false, null),
  ('ENFORCE_CIRCUIT_BREAKER', true, 0, '{1,10,50,100}', null, null, null, null, false, null),
  ('USE_RESPONSE_CACHE', true, 50, null,
   '[{"condition": {"country": {"$in": ["RW", "KE"]}}, "rollout": 100}]',
   null, null, null, false, null),
  ('FEATURE_AGENT_VOICE', false, 0, null, null, null, null, null, false, null),
  ('FEATURE_AGENT_VOUCHERS', true, 10, '{1,10,50,100}', null, null, null,
   jsonb_build_array(jsonb_build_object(
     'at', to_char((now() + interval '7 days') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
     'rollout', 50)),
   false, null),
  ('FEATURE_AGENT_CUSTOMER_LOOKUP', false, 0, null, null, null, null, null, false,
   'customer lookup tool for the agent')
on conflict (key) do nothing;

-- The guard compares the new pipeline with the old one. Here the old pipeline is a command parser
-- that answers in microseconds, so "new p95 above 1.2x the old p95" would always fire: the latency
-- comparison is effectively off for this flag (set a real ratio when the old pipeline is an LLM
-- too); error rates, PII leaks and the advance rules apply as defined.
update trimtab.feature_flags
   set metadata = '{"guard": {"maxLatencyRatio": 1000}}'::jsonb
 where key = 'phoenix_pipeline_enabled' and metadata = '{}'::jsonb;

insert into trimtab.user_feature_overrides (flag_key, unit, enabled, expires_at, reason)
values ('phoenix_pipeline_enabled', 'user-42', false, now() + interval '30 days', 'reported a wrong voucher amount')
on conflict (flag_key, unit) do nothing;

commit;
