-- trimtab production seed: every flag the code knows, disabled at 0 % (no rules, no variants, no
-- schedule, no overrides), as the migration plans require: a new feature starts off and is turned
-- on through the admin API, one audited stage at a time. Stages, prerequisites and guard settings
-- are configuration, not exposure: they are set here so the first ramp already moves stage by
-- stage under the guard.
-- `supabase db push --include-seed` applies it; the local stack also loads the demo state on top
-- (scripts/dev/demo-seed.sql, never pushed). Safe to run more than once: existing rows are left
-- alone. Audited as actor "seed". One transaction, so the trimtab.* settings (transaction-local)
-- reach the audit trigger.
begin;

select set_config('trimtab.actor', 'seed', true),
       set_config('trimtab.action', 'seed', true),
       set_config('trimtab.reason', 'production seed: every flag off', true);

insert into trimtab.feature_flags
  (key, enabled, rollout_percentage, stages, prerequisites, client_visible, metadata, description)
values
  ('FEATURE_AGENT_CHAT', false, 0, null, null, true, '{}',
   'WhatsApp chat agent'),
  -- The old pipeline is a command parser that answers in microseconds, so "new p95 above 1.2x the
  -- old p95" (and the cutover's 1.1x) would always fire: the ratios are effectively off for this
  -- flag (the absolute p95 levels, 2 s / 3 s / 5 s, still apply; set real ratios when the old
  -- pipeline is an LLM too). A ramp to 100 % always needs the cutover check on shadow data. For
  -- the same reason its migration gate on performance accepts any gain (a model is never faster
  -- than a parser: the gate reads "the new path answers at all").
  ('phoenix_pipeline_enabled', false, 0, '{0.1,1,5,25,50,100}',
   '[{"flag": "FEATURE_AGENT_CHAT", "enabled": true}]', true,
   '{"guard": {"maxLatencyRatio": 1000, "cutoverMaxLatencyRatio": 1000, "requireCutover": true},
     "migration": {"minPerformanceGainPercent": -100}}',
   'new AI pipeline instead of the legacy command parser'),
  ('USE_OPTIMIZED_PROMPTS', false, 0, '{5,25,50,100}', null, true, '{}',
   'A/B test of the optimized prompt (variants original / optimized)'),
  ('USE_CIRCUIT_BREAKER', false, 0, null, null, false, '{}',
   'circuit breaker in shadow mode (logs what it would block)'),
  ('ENFORCE_CIRCUIT_BREAKER', false, 0, '{1,10,50,100}', null, false, '{}',
   'circuit breaker enforced (an open breaker skips the model)'),
  ('USE_RESPONSE_CACHE', false, 0, null, null, false, '{}',
   'read-through cache of model answers'),
  ('FEATURE_AGENT_VOICE', false, 0, null, null, false, '{}',
   'voice agent (OpenAI Realtime calls)'),
  ('FEATURE_AGENT_VOUCHERS', false, 0, '{1,10,50,100}', null, false, '{}',
   'voucher tools of the agent'),
  ('FEATURE_AGENT_CUSTOMER_LOOKUP', false, 0, null, null, false, '{}',
   'customer lookup tool for the agent'),
  -- The conversation-memory example (safeMigration; variant "shadow" runs the new store in shadow).
  ('memory_v2_enabled', false, 0, '{1,10,25,50,100}', null, false, '{}',
   'memory example: recalls from the normalised tables instead of chat_memories'),
  ('AI_PIPELINE', false, 0, null, null, false, '{}',
   'kill switch: on (e.g. adminOverride "on") sends every AI path to the legacy pipeline')
on conflict (key) do nothing;

commit;
