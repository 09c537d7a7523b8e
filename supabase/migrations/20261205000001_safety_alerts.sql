-- trimtab safety loop, second part: alerts that reach people, a rollback that clears the response
-- cache in every isolate, retention on a schedule, and an index for the per-hour usage views.
-- Plain SQL for Supabase, the Debian PostgreSQL server and PGlite.
--
-- alert_destinations: where alerts go (a generic webhook signed with Standard Webhooks, or a
--   Slack-compatible incoming webhook). Secrets are never stored here: `url_secret` and
--   `signing_secret` NAME a secret the edge functions read (TRIMTAB_ALERT_SECRETS, or Vault).
-- alert_deliveries: the outbox, one row per alert and destination, retried with backoff by the
--   guard's tick until delivered or given up.
-- alerts: acknowledgement (who, when, a note).
-- response_cache_epochs: a generation per flag. A rollback of a flag (adminOverride set to off,
--   the flag disabled or deleted: by the admin API, the guard or direct SQL) deletes the cache rows
--   written under it and moves its epoch in the same transaction; a row or an isolate's in-memory
--   copy from an older epoch is never served again.

-- ---------------------------------------------------------------------------------------------
-- alerts: acknowledgement

alter table trimtab.alerts
  add column acknowledged_at timestamptz null,
  add column acknowledged_by text null
    constraint alerts_acknowledged_by_length check (length(acknowledged_by) between 1 and 200),
  add column ack_note text null
    constraint alerts_ack_note_length check (length(ack_note) <= 1000);
create index alerts_open_idx on trimtab.alerts (at desc) where acknowledged_at is null;

-- ---------------------------------------------------------------------------------------------
-- destinations and the delivery outbox

create table trimtab.alert_destinations (
  id             bigint      generated always as identity primary key,
  name           text        not null
                 constraint alert_destinations_name_format check (name ~ '^[A-Za-z0-9][A-Za-z0-9_. -]{0,99}$')
                 constraint alert_destinations_name_key unique,
  kind           text        not null
                 constraint alert_destinations_kind_values check (kind in ('webhook', 'slack')),
  -- the URL itself (webhooks only), or the name of the secret holding it (Slack URLs are secrets)
  url            text        null
                 constraint alert_destinations_url_format check (url ~ '^https?://[^\s]+$' and length(url) <= 2000),
  url_secret     text        null
                 constraint alert_destinations_url_secret_format check (url_secret ~ '^[A-Za-z][A-Za-z0-9_]{0,99}$'),
  -- the name of the secret holding the Standard Webhooks key (whsec_...): webhooks only
  signing_secret text        null
                 constraint alert_destinations_signing_secret_format check (signing_secret ~ '^[A-Za-z][A-Za-z0-9_]{0,99}$'),
  min_severity   text        not null default 'warning'
                 constraint alert_destinations_min_severity_values check (min_severity in ('info', 'warning', 'critical')),
  -- only alerts about these flags (null: every alert, flag-less ones included)
  flags          text[]      null
                 constraint alert_destinations_flags_valid check (
                   flags is null or (cardinality(flags) between 1 and 100 and array_position(flags, null) is null)),
  enabled        boolean     not null default true,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint alert_destinations_one_url check ((url is null) <> (url_secret is null)),
  constraint alert_destinations_slack_url_secret check (kind <> 'slack' or url is null),
  constraint alert_destinations_webhook_signed check (kind <> 'webhook' or signing_secret is not null),
  constraint alert_destinations_slack_unsigned check (kind <> 'slack' or signing_secret is null)
);
comment on table trimtab.alert_destinations is
  'trimtab: where alerts are delivered; secrets are referenced by name, never stored.';
create trigger alert_destinations_touch before update on trimtab.alert_destinations
  for each row execute function trimtab.touch_updated_at();

create table trimtab.alert_deliveries (
  id               bigint      generated always as identity primary key,
  alert_id         bigint      not null references trimtab.alerts (id) on delete cascade,
  -- an alert_destinations id, or env:webhook / env:slack (destinations set in the environment)
  destination      text        not null
                   constraint alert_deliveries_destination_format check (destination ~ '^(env:[a-z]+|[0-9]+)$'),
  destination_name text        not null
                   constraint alert_deliveries_destination_name_length check (length(destination_name) between 1 and 100),
  attempts         integer     not null default 0 constraint alert_deliveries_attempts_range check (attempts >= 0),
  -- when the next attempt is due (null once delivered or given up)
  next_attempt_at  timestamptz null,
  last_attempt_at  timestamptz null,
  last_status      integer     null,
  last_error       text        null
                   constraint alert_deliveries_last_error_length check (length(last_error) <= 500),
  delivered_at     timestamptz null,
  given_up_at      timestamptz null,
  created_at       timestamptz not null default now(),
  constraint alert_deliveries_alert_destination_key unique (alert_id, destination)
);
comment on table trimtab.alert_deliveries is
  'trimtab: the alert outbox: one row per alert and destination, retried with backoff until delivered or given up.';
create index alert_deliveries_due_idx on trimtab.alert_deliveries (next_attempt_at) where next_attempt_at is not null;

-- ---------------------------------------------------------------------------------------------
-- response cache epochs: a rollback invalidates the flag's cached answers everywhere

create table trimtab.response_cache_epochs (
  flag_key  text        primary key,
  epoch     bigint      not null default 0,
  bumped_at timestamptz not null default now()
);
comment on table trimtab.response_cache_epochs is
  'trimtab: a generation per flag; cache rows and in-memory copies of an older generation are never served.';
alter table trimtab.response_cache add column epoch bigint not null default 0;

-- Deletes the cache rows written under `flag` and moves its epoch; returns the rows deleted.
create or replace function trimtab.invalidate_response_cache(flag text)
  returns bigint
  language plpgsql
  security definer
  set search_path to ''
as $$
declare
  n bigint;
begin
  delete from trimtab.response_cache where flag_key = flag;
  get diagnostics n = row_count;
  insert into trimtab.response_cache_epochs (flag_key, epoch) values (flag, 1)
    on conflict (flag_key) do update set epoch = trimtab.response_cache_epochs.epoch + 1, bumped_at = now();
  return n;
end;
$$;
comment on function trimtab.invalidate_response_cache(text) is
  'trimtab: deletes the response cache rows of a flag and moves its epoch (every isolate drops its copies).';

-- A rollback of a flag, however it is made, invalidates what its pipeline cached.
create or replace function trimtab.rollback_invalidates_cache()
  returns trigger
  language plpgsql
  security definer
  set search_path to ''
as $$
begin
  if tg_op = 'DELETE'
     or (new.admin_override = 'off' and old.admin_override is distinct from 'off')
     or (old.enabled and not new.enabled) then
    perform trimtab.invalidate_response_cache(old.key);
  end if;
  return null;
end;
$$;
create trigger feature_flags_rollback_cache after update of admin_override, enabled or delete on trimtab.feature_flags
  for each row execute function trimtab.rollback_invalidates_cache();

-- ---------------------------------------------------------------------------------------------
-- usage: the per-hour views (requests, errors by code, cost per conversation) of served calls

-- Served calls of one flag over a time range, with what the views read, in the index: the
-- queries are index-only scans. Time-range partitioning was left out on purpose: it needs a
-- partition maintainer (pg_partman on Supabase, nothing on PGlite) and buys little at this
-- volume; the weekly purge deletes by `at` through ai_usage_logs_at_idx.
drop index if exists trimtab.ai_usage_logs_flag_at_idx;
create index ai_usage_logs_flag_at_served_idx on trimtab.ai_usage_logs (flag_key, at)
  include (pipeline, status, error_code, latency_ms, cost_usd, correlation_id, fallback, pii_leak, cached)
  where not shadow;

-- ---------------------------------------------------------------------------------------------
-- retention

drop function if exists trimtab.purge_safety_data(interval);
create or replace function trimtab.purge_safety_data(
  usage_keep interval default interval '90 days',
  shadow_keep interval default interval '30 days')
  returns jsonb
  language plpgsql
  security definer
  set search_path to ''
as $$
declare
  usage_n bigint;
  shadow_n bigint;
  cache_n bigint;
begin
  if usage_keep < interval '1 day' or shadow_keep < interval '1 day' then
    raise exception 'keep usage rows and shadow comparisons at least a day' using errcode = 'invalid_parameter_value';
  end if;
  delete from trimtab.ai_usage_logs where at < now() - usage_keep;
  get diagnostics usage_n = row_count;
  delete from trimtab.shadow_comparisons where at < now() - shadow_keep;
  get diagnostics shadow_n = row_count;
  delete from trimtab.response_cache where expires_at < now();
  get diagnostics cache_n = row_count;
  return jsonb_build_object('usage', usage_n, 'shadow', shadow_n, 'cache', cache_n);
end;
$$;
comment on function trimtab.purge_safety_data(interval, interval) is
  'trimtab: deletes usage rows older than usage_keep (90 days), shadow comparisons older than shadow_keep (30 days) and expired cache entries.';

create or replace function trimtab.purge_response_cache()
  returns bigint
  language sql
  security definer
  set search_path to ''
as $$
  with d as (delete from trimtab.response_cache where expires_at < now() returning 1) select count(*) from d
$$;
comment on function trimtab.purge_response_cache() is 'trimtab: deletes expired response cache entries.';

-- ---------------------------------------------------------------------------------------------
-- grants and row-level security

revoke all on trimtab.alert_destinations, trimtab.alert_deliveries, trimtab.response_cache_epochs
  from public, anon, authenticated, service_role;
grant select, insert, update, delete on trimtab.alert_destinations to authenticated, service_role;
grant select on trimtab.alert_deliveries, trimtab.response_cache_epochs to authenticated;
grant select, insert, update, delete on trimtab.alert_deliveries to service_role;
grant select on trimtab.response_cache_epochs to service_role;
grant update (acknowledged_at, acknowledged_by, ack_note) on trimtab.alerts to authenticated;
grant update on trimtab.alerts to service_role;
revoke all on function trimtab.invalidate_response_cache(text) from public, anon, authenticated;
grant execute on function trimtab.invalidate_response_cache(text) to service_role;
revoke all on function trimtab.rollback_invalidates_cache() from public, anon, authenticated;
revoke all on function trimtab.purge_safety_data(interval, interval) from public, anon, authenticated;
grant execute on function trimtab.purge_safety_data(interval, interval) to service_role;
revoke all on function trimtab.purge_response_cache() from public, anon, authenticated;
grant execute on function trimtab.purge_response_cache() to service_role;

alter table trimtab.alert_destinations enable row level security;
alter table trimtab.alert_deliveries enable row level security;
alter table trimtab.response_cache_epochs enable row level security;

create policy alert_destinations_admin_all on trimtab.alert_destinations
  for all to authenticated using ((select trimtab.is_admin())) with check ((select trimtab.is_admin()));
create policy alert_deliveries_admin_read on trimtab.alert_deliveries
  for select to authenticated using ((select trimtab.is_admin()));
create policy response_cache_epochs_admin_read on trimtab.response_cache_epochs
  for select to authenticated using ((select trimtab.is_admin()));
create policy alerts_admin_acknowledge on trimtab.alerts
  for update to authenticated using ((select trimtab.is_admin())) with check ((select trimtab.is_admin()));

-- ---------------------------------------------------------------------------------------------
-- schedules (where pg_cron exists; migration 20261127000003 created it where the platform offers
-- it): usage rows 90 days and shadow comparisons 30 days, weekly; webhook events 7 days, daily;
-- expired cache entries, hourly. cron.schedule replaces a job of the same name. Elsewhere the
-- local stack's timers call the same functions (scripts/serve.ts).

do $$
begin
  if to_regnamespace('cron') is null then
    raise notice 'trimtab: pg_cron not available here: retention not scheduled; the local stack''s timers run the purges';
    return;
  end if;
  perform cron.schedule('trimtab-purge-safety-data', '43 3 * * 0',
    'select trimtab.purge_safety_data(interval ''90 days'', interval ''30 days'')');
  perform cron.schedule('trimtab-purge-webhook-events', '17 3 * * *',
    'select trimtab.purge_webhook_events(interval ''7 days'')');
  perform cron.schedule('trimtab-purge-response-cache', '7 * * * *', 'select trimtab.purge_response_cache()');
end;
$$;
