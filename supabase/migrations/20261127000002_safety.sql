-- trimtab safety loop: AI usage rows, the response cache, shadow comparisons, alerts and
-- the guard's rollout decisions. Plain SQL for Supabase, the Debian PostgreSQL server and PGlite.
--
-- ai_usage_logs: one row per AI call (or per message the legacy pipeline served), written by the
-- edge functions (_shared/usage.ts). The guard and GET /rollout-status summarise it per flag and
-- pipeline over a time window (percentile_cont for p50/p95); shadow rows are kept apart.
-- response_cache: the read-through cache of model answers, keyed by the prompt's stable cache key.
-- shadow_comparisons: old vs new output similarity for sampled requests (no raw text, no phone).
-- alerts: error rate, unauthorised rollout change, frequent rollbacks, automatic rollbacks.
-- rollout_decisions: every guard decision that changed something or differs from the last one.
--
-- Only the service role (the edge functions) writes; admins read everything; nobody else reads.

-- ---------------------------------------------------------------------------------------------
-- tables

create table trimtab.ai_usage_logs (
  id             bigint      generated always as identity primary key,
  at             timestamptz not null default now(),
  feature        text        not null
                 constraint ai_usage_logs_feature_length check (length(feature) between 1 and 100),
  flag_key       text        null
                 constraint ai_usage_logs_flag_key_length check (length(flag_key) between 1 and 128),
  pipeline       text        not null
                 constraint ai_usage_logs_pipeline_values check (pipeline in ('old', 'new')),
  provider       text        not null
                 constraint ai_usage_logs_provider_length check (length(provider) between 1 and 64),
  model          text        null
                 constraint ai_usage_logs_model_length check (length(model) <= 200),
  prompt_variant text        null
                 constraint ai_usage_logs_prompt_variant_length check (length(prompt_variant) <= 200),
  tokens_in      integer     not null default 0 constraint ai_usage_logs_tokens_in_range check (tokens_in >= 0),
  tokens_out     integer     not null default 0 constraint ai_usage_logs_tokens_out_range check (tokens_out >= 0),
  latency_ms     integer     not null default 0 constraint ai_usage_logs_latency_range check (latency_ms >= 0),
  cost_usd       numeric     not null default 0 constraint ai_usage_logs_cost_range check (cost_usd >= 0),
  status         text        not null
                 constraint ai_usage_logs_status_values check (status in ('ok', 'error', 'timeout', 'rejected')),
  fallback       boolean     not null default false,
  cached         boolean     not null default false,
  shadow         boolean     not null default false,
  -- a PII leak reported for this call's output (rolls the flag back at any volume)
  pii_leak       boolean     not null default false,
  correlation_id text        null
                 constraint ai_usage_logs_correlation_id_length check (length(correlation_id) <= 200),
  error_code     text        null
                 constraint ai_usage_logs_error_code_length check (length(error_code) <= 100)
);
comment on table trimtab.ai_usage_logs is
  'trimtab: one row per AI call (pipeline new) or legacy-served message (pipeline old); no prompt or reply text.';
create index ai_usage_logs_flag_at_idx on trimtab.ai_usage_logs (flag_key, at desc) include (pipeline, status, latency_ms);
create index ai_usage_logs_at_idx on trimtab.ai_usage_logs (at desc);

create table trimtab.response_cache (
  key        text        primary key
             constraint response_cache_key_length check (length(key) between 1 and 200),
  flag_key   text        null,
  response   jsonb       not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  hits       bigint      not null default 0
);
comment on table trimtab.response_cache is 'trimtab: read-through cache of model answers keyed by the stable prompt cache key.';
create index response_cache_flag_idx on trimtab.response_cache (flag_key);
create index response_cache_expires_idx on trimtab.response_cache (expires_at);

create table trimtab.shadow_comparisons (
  id             bigint      generated always as identity primary key,
  at             timestamptz not null default now(),
  flag_key       text        not null,
  correlation_id text        null,
  similarity     double precision null
                 constraint shadow_comparisons_similarity_range check (similarity between 0 and 1),
  old_latency_ms integer     null,
  new_latency_ms integer     null,
  new_error      text        null
                 constraint shadow_comparisons_new_error_length check (length(new_error) <= 100),
  details        jsonb       null   -- tool names, variant: never message text or phone numbers
);
comment on table trimtab.shadow_comparisons is 'trimtab: old vs new pipeline output similarity for sampled requests (no raw PII).';
create index shadow_comparisons_flag_at_idx on trimtab.shadow_comparisons (flag_key, at desc);

create table trimtab.alerts (
  id       bigint      generated always as identity primary key,
  at       timestamptz not null default now(),
  kind     text        not null
           constraint alerts_kind_format check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  flag_key text        null,
  severity text        not null default 'warning'
           constraint alerts_severity_values check (severity in ('info', 'warning', 'critical')),
  message  text        not null
           constraint alerts_message_length check (length(message) between 1 and 2000),
  details  jsonb       null
);
comment on table trimtab.alerts is 'trimtab: alerts raised by the guard (also written as log lines).';
create index alerts_at_idx on trimtab.alerts (at desc);
create index alerts_flag_kind_at_idx on trimtab.alerts (flag_key, kind, at desc);

create table trimtab.rollout_decisions (
  id           bigint      generated always as identity primary key,
  at           timestamptz not null default now(),
  flag_key     text        not null,
  action       text        not null
               constraint rollout_decisions_action_values check (action in ('advance', 'hold', 'rollback')),
  reasons      jsonb       not null default '[]'::jsonb,
  from_rollout numeric     null,
  to_rollout   numeric     null,
  metrics      jsonb       null
);
comment on table trimtab.rollout_decisions is 'trimtab: the guard''s decisions per flag (holds only when they change).';
create index rollout_decisions_flag_at_idx on trimtab.rollout_decisions (flag_key, at desc);

-- The guard's watermark: the last flag_audit_log id it checked for unauthorised rollout changes
-- (one row; the guard locks it, so two concurrent runs do not both act).
create table trimtab.guard_state (
  id            boolean     primary key default true constraint guard_state_one_row check (id),
  last_audit_id bigint      not null default 0,
  last_run_at   timestamptz null
);
comment on table trimtab.guard_state is 'trimtab: one row; the guard''s last run and audit watermark.';
insert into trimtab.guard_state (id) values (true);

-- Whether the change was described (trimtab.action set in its transaction, as the admin API, the
-- guard and the seed do). A rollout change with described = false was made some other way (direct
-- SQL): the guard raises an unauthorised_change alert for it. Rows before this migration: false.
alter table trimtab.flag_audit_log
  add column described boolean not null default (coalesce(current_setting('trimtab.action', true), '') <> '');

-- ---------------------------------------------------------------------------------------------
-- retention: usage rows, comparisons and expired cache entries (decisions and alerts are kept)

create or replace function trimtab.purge_safety_data(keep interval default interval '30 days')
  returns bigint
  language plpgsql
  security definer
  set search_path to ''
as $$
declare
  n bigint;
begin
  if keep < interval '1 day' then
    raise exception 'keep usage rows at least a day' using errcode = 'invalid_parameter_value';
  end if;
  delete from trimtab.ai_usage_logs where at < now() - keep;
  get diagnostics n = row_count;
  delete from trimtab.shadow_comparisons where at < now() - keep;
  delete from trimtab.response_cache where expires_at < now();
  return n;
end;
$$;
comment on function trimtab.purge_safety_data(interval) is
  'trimtab: deletes usage rows and shadow comparisons older than keep (default 30 days) and expired cache entries.';

-- ---------------------------------------------------------------------------------------------
-- grants and row-level security

revoke all on trimtab.ai_usage_logs, trimtab.response_cache, trimtab.shadow_comparisons, trimtab.alerts,
  trimtab.rollout_decisions, trimtab.guard_state from public, anon, authenticated, service_role;
grant select, update on trimtab.guard_state to service_role;
grant select on trimtab.ai_usage_logs, trimtab.response_cache, trimtab.shadow_comparisons, trimtab.alerts,
  trimtab.rollout_decisions to authenticated;
grant select, insert on trimtab.ai_usage_logs, trimtab.shadow_comparisons, trimtab.alerts,
  trimtab.rollout_decisions to service_role;
grant select, insert, update, delete on trimtab.response_cache to service_role;
grant delete on trimtab.ai_usage_logs, trimtab.shadow_comparisons to service_role;
revoke all on function trimtab.purge_safety_data(interval) from public, anon, authenticated;
grant execute on function trimtab.purge_safety_data(interval) to service_role;

alter table trimtab.ai_usage_logs enable row level security;
alter table trimtab.response_cache enable row level security;
alter table trimtab.shadow_comparisons enable row level security;
alter table trimtab.alerts enable row level security;
alter table trimtab.rollout_decisions enable row level security;
alter table trimtab.guard_state enable row level security;

create policy ai_usage_logs_admin_read on trimtab.ai_usage_logs
  for select to authenticated using ((select trimtab.is_admin()));
create policy response_cache_admin_read on trimtab.response_cache
  for select to authenticated using ((select trimtab.is_admin()));
create policy shadow_comparisons_admin_read on trimtab.shadow_comparisons
  for select to authenticated using ((select trimtab.is_admin()));
create policy alerts_admin_read on trimtab.alerts
  for select to authenticated using ((select trimtab.is_admin()));
create policy rollout_decisions_admin_read on trimtab.rollout_decisions
  for select to authenticated using ((select trimtab.is_admin()));
create policy guard_state_admin_read on trimtab.guard_state
  for select to authenticated using ((select trimtab.is_admin()));
