-- trimtab: webhook events delivered at least once, and idempotency keys scoped to their caller.
--
-- Webhook events (trimtab.webhook_events) now carry their processing state. A signed delivery is
-- answered 200 only once each of its events is recorded here (state 'received', with the event
-- itself in `payload`); when the insert fails the function answers 5xx and Meta retries. Then:
--   received -> processing (claimed: attempts + 1, locked_until = now() + lease)
--            -> processed (payload and reply cleared)
--            -> failed (last_error; next_attempt_at = now() + backoff, or null once attempts are
--               used up: given up)
-- An event left 'processing' past its lease (its isolate died) or 'received' past its first
-- next_attempt_at (never claimed) is taken up again by the retry job, as is a 'failed' one when
-- next_attempt_at comes: on Supabase every minute by pg_cron through pg_net
-- (trimtab.call_webhook_retry(): POST /functions/v1/ai-whatsapp-webhook/retry with the secret
-- key, like the guard job), locally by the stack's timer. `reply` holds the answer once the agent
-- has produced it, so a retry resends it instead of running the agent (and its tools) again.
-- Rows written before this migration were processed at most once: they are 'processed'.
--
-- Idempotency keys: the primary key becomes (scope, caller, key), `caller` naming who sent the
-- request (a user's sub, or which secret key), so a second caller reusing a key gets its own
-- answer, never the first caller's.

alter table trimtab.webhook_events
  add column state text not null default 'processed'
    constraint webhook_events_state_values check (state in ('received', 'processing', 'processed', 'failed')),
  add column attempts integer not null default 0
    constraint webhook_events_attempts_range check (attempts between 0 and 1000),
  add column next_attempt_at timestamptz null,
  add column locked_until timestamptz null,
  add column last_error text null
    constraint webhook_events_last_error_length check (length(last_error) <= 200),
  add column payload jsonb null,
  add column reply jsonb null,
  add column processed_at timestamptz null;
create index webhook_events_due_idx on trimtab.webhook_events (next_attempt_at)
  where state in ('received', 'processing', 'failed');
comment on table trimtab.webhook_events is
  'trimtab: one row per webhook event: durable dedup across isolates, and its processing state (received, processing, processed, failed) for at-least-once processing; purged after 7 days by default.';
grant update on trimtab.webhook_events to service_role;

alter table trimtab.idempotency_keys
  add column caller text not null default ''
    constraint idempotency_keys_caller_length check (length(caller) <= 300);
alter table trimtab.idempotency_keys drop constraint idempotency_keys_pkey;
alter table trimtab.idempotency_keys add primary key (scope, caller, key);
comment on table trimtab.idempotency_keys is
  'trimtab: Idempotency-Key results per caller: the same caller, key and request return the first result; another request is a 409; another caller has its own keys.';

-- POSTs to <project>/functions/v1/<path> through pg_net with the secret key (apikey header), both
-- read from Vault when it runs; raises naming what is missing (pg_cron records the failed run).
create or replace function trimtab.call_edge(path text)
  returns bigint
  language plpgsql
  security definer
  set search_path to ''
as $$
declare
  project_url text;
  secret_key  text;
  request_id  bigint;
begin
  if path !~ '^/functions/v1/[a-z0-9][a-z0-9/_-]*$' then
    raise exception 'trimtab job: not a function path: %', path using errcode = 'invalid_parameter_value';
  end if;
  if to_regnamespace('net') is null or to_regnamespace('vault') is null then
    raise exception 'trimtab job: pg_net and Vault are needed to call % from the database; here the local stack''s timer runs it', path
      using errcode = 'feature_not_supported';
  end if;
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into project_url using 'trimtab_project_url';
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into secret_key using 'trimtab_secret_key';
  if coalesce(project_url, '') = '' or coalesce(secret_key, '') = '' then
    raise exception 'trimtab job: Vault secret % is missing: select vault.create_secret(''%'', ''%'');',
      case when coalesce(project_url, '') = '' then 'trimtab_project_url' else 'trimtab_secret_key' end,
      case when coalesce(project_url, '') = '' then 'https://<project-ref>.supabase.co' else 'sb_secret_...' end,
      case when coalesce(project_url, '') = '' then 'trimtab_project_url' else 'trimtab_secret_key' end
      using errcode = 'undefined_object';
  end if;
  execute 'select net.http_post(url := $1, headers := $2, body := $3, timeout_milliseconds := 10000)'
    into request_id
    using rtrim(project_url, '/') || path,
          jsonb_build_object('content-type', 'application/json', 'apikey', secret_key),
          '{}'::jsonb;
  return request_id;
end;
$$;
comment on function trimtab.call_edge(text) is
  'trimtab: POST <trimtab_project_url><path> through pg_net with the Vault secret trimtab_secret_key in the apikey header.';
revoke all on function trimtab.call_edge(text) from public, anon, authenticated;
grant execute on function trimtab.call_edge(text) to service_role;

-- The guard job and the webhook retry job, both through call_edge.
create or replace function trimtab.call_guard()
  returns bigint
  language sql
  security definer
  set search_path to ''
as $$ select trimtab.call_edge('/functions/v1/flags-admin/guard') $$;

create or replace function trimtab.call_webhook_retry()
  returns bigint
  language sql
  security definer
  set search_path to ''
as $$ select trimtab.call_edge('/functions/v1/ai-whatsapp-webhook/retry') $$;
comment on function trimtab.call_webhook_retry() is
  'trimtab: POST /functions/v1/ai-whatsapp-webhook/retry (failed or abandoned webhook events, with a bound on attempts).';
revoke all on function trimtab.call_webhook_retry() from public, anon, authenticated;
grant execute on function trimtab.call_webhook_retry() to service_role;

do $$
begin
  if to_regnamespace('cron') is null then
    raise notice 'trimtab: pg_cron not available here: webhook retries not scheduled; the local stack''s timer runs them';
    return;
  end if;
  perform cron.schedule('trimtab-webhook-retry', '* * * * *', 'select trimtab.call_webhook_retry()');
end;
$$;
