-- trimtab: what runs on a schedule inside the database where the platform offers pg_cron and
-- pg_net (Supabase does): the rollout guard every minute, and the retention purges (webhook events
-- and idempotency keys daily, the safety loop's usage rows and comparisons weekly). Elsewhere
-- (PGlite, the Debian server) the extensions do not exist: this migration says so in a notice and
-- the local stack's timers do the same work (scripts/serve.ts).
--
-- The guard's decisions are made by the Wasm in the edge function, so the job calls
-- POST <project>/functions/v1/flags-admin/guard through pg_net, authenticated with a secret key
-- (sb_secret_...) in the `apikey` header. Both are read from Vault when the job runs, so secrets
-- added (or rotated) later are picked up without touching the schedule:
--
--   select vault.create_secret('https://<project-ref>.supabase.co', 'trimtab_project_url');
--   select vault.create_secret('sb_secret_...', 'trimtab_secret_key');
--
-- Until both exist each run fails with a message naming what is missing (cron.job_run_details).
-- Stop a job with: select cron.unschedule('trimtab-rollout-guard');

-- Calls the guard once; returns pg_net's request id. Raises (so pg_cron records the run as
-- failed, with this message) when pg_net, Vault or a secret is missing.
create or replace function trimtab.call_guard()
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
  if to_regnamespace('net') is null or to_regnamespace('vault') is null then
    raise exception 'trimtab guard: pg_net and Vault are needed to call the guard from the database; here the local stack''s timer runs it'
      using errcode = 'feature_not_supported';
  end if;
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into project_url using 'trimtab_project_url';
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into secret_key using 'trimtab_secret_key';
  if coalesce(project_url, '') = '' or coalesce(secret_key, '') = '' then
    raise exception 'trimtab guard: Vault secret % is missing: select vault.create_secret(''%'', ''%'');',
      case when coalesce(project_url, '') = '' then 'trimtab_project_url' else 'trimtab_secret_key' end,
      case when coalesce(project_url, '') = '' then 'https://<project-ref>.supabase.co' else 'sb_secret_...' end,
      case when coalesce(project_url, '') = '' then 'trimtab_project_url' else 'trimtab_secret_key' end
      using errcode = 'undefined_object';
  end if;
  execute 'select net.http_post(url := $1, headers := $2, body := $3, timeout_milliseconds := 10000)'
    into request_id
    using rtrim(project_url, '/') || '/functions/v1/flags-admin/guard',
          jsonb_build_object('content-type', 'application/json', 'apikey', secret_key),
          '{}'::jsonb;
  return request_id;
end;
$$;
comment on function trimtab.call_guard() is
  'trimtab: POST /functions/v1/flags-admin/guard with the Vault secrets trimtab_project_url and trimtab_secret_key (apikey header).';
revoke all on function trimtab.call_guard() from public, anon, authenticated;
grant execute on function trimtab.call_guard() to service_role;

do $$
declare
  missing text := '';
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  else
    missing := 'pg_net';
  end if;
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
  else
    missing := concat_ws(', ', nullif(missing, ''), 'pg_cron');
  end if;
  if missing <> '' or to_regnamespace('cron') is null then
    raise notice 'trimtab: % not available here: nothing scheduled; the local stack''s timers run the guard and the purges', missing;
    return;
  end if;
  -- cron.schedule replaces a job of the same name, so re-running this migration is harmless.
  perform cron.schedule('trimtab-rollout-guard', '* * * * *', 'select trimtab.call_guard()');
  perform cron.schedule('trimtab-purge-webhook-events', '17 3 * * *', 'select trimtab.purge_webhook_events()');
  perform cron.schedule('trimtab-purge-safety-data', '43 3 * * 0', 'select trimtab.purge_safety_data()');
  if to_regnamespace('vault') is null then
    raise notice 'trimtab: Vault is not installed: the guard job fails until it is and holds trimtab_project_url and trimtab_secret_key';
  end if;
end;
$$;
