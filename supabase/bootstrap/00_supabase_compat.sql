-- trimtab: Supabase compatibility bootstrap for plain PostgreSQL and PGlite.
--
-- Creates what a Supabase database already has and trimtab's migrations rely on: the API roles
-- anon / authenticated / service_role, the `auth` schema with auth.uid(), auth.role(),
-- auth.email() and auth.jwt(), and Supabase's default grants on schema public.
--
-- NEVER apply this to a Supabase database: the db layer (supabase/functions/_shared/db.ts)
-- only applies it to the embedded PGlite database and to the throwaway test server.
--
-- The definitions follow Supabase's own:
--   roles and default privileges: supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql
--   auth functions: supabase/auth migrations/20240624145325_recreate_auth_functions.up.sql
--     (claims read from `request.jwt.claims`, falling back to the older per-claim settings)
-- Idempotent: safe to run on every start.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- Supabase lets the connecting role (postgres) switch to the API roles; a superuser can anyway,
-- this matters only when the test server connects as a non-superuser.
do $$
begin
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    execute format('grant anon, authenticated, service_role to %I', current_user);
  end if;
end
$$;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create or replace function auth.uid()
  returns uuid
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$func$ language sql stable;

create or replace function auth.role()
  returns text
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$func$ language sql stable;

create or replace function auth.email()
  returns text
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$func$ language sql stable;

create or replace function auth.jwt()
  returns jsonb
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$func$ language sql stable;

comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

-- Supabase's default privileges on schema public (RLS policies do the real gatekeeping; the
-- migrations revoke what must never be reachable, e.g. TRUNCATE, which RLS does not cover).
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- Supabase's statement timeouts for the API roles.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
