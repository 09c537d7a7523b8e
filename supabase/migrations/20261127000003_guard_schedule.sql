-- trimtab: run the rollout guard every minute on Supabase (the local stack's timer does the same,
-- scripts/serve.ts, TRIMTAB_GUARD_INTERVAL_MS). The guard's decisions are made by the Wasm in the
-- edge function, so pg_cron calls POST /functions/v1/flags-admin/guard through pg_net with the
-- service-role key. Nothing happens elsewhere (no pg_cron / pg_net / Vault: the Debian server,
-- PGlite), and nothing is sent until both secrets exist in Vault:
--
--   select vault.create_secret('https://<project-ref>.supabase.co', 'trimtab_project_url');
--   select vault.create_secret('<service-role key>', 'trimtab_service_role_key');
--
-- Stop it with: select cron.unschedule('trimtab-rollout-guard');
do $$
begin
  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
     and exists (select 1 from pg_catalog.pg_extension where extname = 'pg_net')
     and exists (select 1 from pg_catalog.pg_namespace where nspname = 'vault') then
    perform cron.schedule('trimtab-rollout-guard', '* * * * *', $job$
      select net.http_post(
        url     := u.decrypted_secret || '/functions/v1/flags-admin/guard',
        headers := jsonb_build_object('content-type', 'application/json',
                                      'authorization', 'Bearer ' || k.decrypted_secret),
        body    := '{}'::jsonb,
        timeout_milliseconds := 10000)
      from vault.decrypted_secrets u, vault.decrypted_secrets k
      where u.name = 'trimtab_project_url' and k.name = 'trimtab_service_role_key'
    $job$);
  end if;
end;
$$;
