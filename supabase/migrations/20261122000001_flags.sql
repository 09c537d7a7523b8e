-- trimtab flags schema: flags, per-unit overrides, audit log, config version.
-- Plain SQL that applies unchanged to Supabase, the Debian PostgreSQL server and PGlite.
-- Everything trimtab owns lives in the schema `trimtab` (never `public`), so it installs next to a
-- project's own tables (a `public.profiles` of its own, for example) without a clash. The schema is
-- not exposed through the Data API; the edge functions reach it over SUPABASE_DB_URL.
-- Relies on roles anon/authenticated/service_role and auth.jwt() (Supabase has them; elsewhere
-- supabase/bootstrap/00_supabase_compat.sql creates them first).
--
-- Admin = JWT claim app_metadata.role = 'admin', or the service_role (JWT role claim or DB role;
-- the service_role DB role also has BYPASSRLS, as on Supabase).
--
-- Audit: row triggers write one flag_audit_log row per changed flag/override row, with
-- before/after as JSON. The caller may describe the change for the current transaction with
--   select set_config('trimtab.actor',  'user-id or name', true),
--          set_config('trimtab.action', 'flag.rollback',   true),
--          set_config('trimtab.reason', 'why',            true);
-- otherwise actor falls back to the JWT's sub / role, then the database session user.
-- Version: every changed row of feature_flags or user_feature_overrides (and every TRUNCATE)
-- bumps flag_config_version.version (one row), so caches and ETags can key on it; refused or
-- no-op statements leave it alone. The audit row records the version its change produced.

-- ---------------------------------------------------------------------------------------------
-- schema

create schema if not exists trimtab;
comment on schema trimtab is 'trimtab: feature flags, the agent''s customers and vouchers, the AI safety loop.';
-- The API roles reach the schema (the functions run admin changes as the caller, `set local
-- role`); what they may do is decided by the grants and row-level security below.
revoke all on schema trimtab from public;
grant usage on schema trimtab to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- helpers

create or replace function trimtab.is_admin()
  returns boolean
  language sql stable
  set search_path to ''
as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role' = 'admin', false)
      or coalesce(auth.jwt() ->> 'role' = 'service_role', false)
      or current_user = 'service_role'
$$;
comment on function trimtab.is_admin() is
  'trimtab: true for admin JWTs (app_metadata.role = admin) and the service role.';

-- ---------------------------------------------------------------------------------------------
-- tables

create table trimtab.feature_flags (
  key                text        primary key
                     constraint feature_flags_key_format check (key ~ '^[A-Za-z][A-Za-z0-9_.-]{0,127}$'),
  enabled            boolean     not null default false,
  admin_override     text        null
                     constraint feature_flags_admin_override_check check (admin_override in ('on', 'off')),
  rollout_percentage numeric     not null default 0
                     constraint feature_flags_rollout_range check (rollout_percentage >= 0 and rollout_percentage <= 100)
                     constraint feature_flags_rollout_scale check (rollout_percentage = round(rollout_percentage, 4)),
  salt               text        null
                     constraint feature_flags_salt_format check (salt ~ '^[A-Za-z0-9_./-]{1,128}$'),
  stickiness         text        not null default 'userId'
                     constraint feature_flags_stickiness_length check (length(stickiness) between 1 and 200),
  rules              jsonb       null
                     constraint feature_flags_rules_array check (rules is null or jsonb_typeof(rules) = 'array'),
  variants           jsonb       null
                     constraint feature_flags_variants_array check (variants is null or jsonb_typeof(variants) = 'array'),
  prerequisites      jsonb       null
                     constraint feature_flags_prerequisites_array check (prerequisites is null or jsonb_typeof(prerequisites) = 'array'),
  stages             numeric[]   null
                     constraint feature_flags_stages_valid check (
                       stages is null or (
                         cardinality(stages) between 1 and 32
                         and array_ndims(stages) = 1
                         and array_position(stages, null) is null
                         and 0 <= all (stages) and 100 >= all (stages))),
  schedule           jsonb       null
                     constraint feature_flags_schedule_array check (schedule is null or jsonb_typeof(schedule) = 'array'),
  client_visible     boolean     not null default false,
  description        text        null
                     constraint feature_flags_description_length check (length(description) <= 2000),
  metadata           jsonb       not null default '{}'::jsonb
                     constraint feature_flags_metadata_object check (jsonb_typeof(metadata) = 'object'),
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
comment on table trimtab.feature_flags is
  'trimtab: one row per flag; the snapshot fields of the design (rollout_percentage = rollout, admin_override = adminOverride, client_visible = clientVisible).';

create table trimtab.user_feature_overrides (
  id          bigint      generated always as identity primary key,
  flag_key    text        not null references trimtab.feature_flags (key) on delete cascade on update cascade,
  unit        text        not null
              constraint user_feature_overrides_unit_length check (length(unit) between 1 and 200),
  enabled     boolean     not null,
  variant     text        null
              constraint user_feature_overrides_variant_length check (length(variant) between 1 and 200),
  expires_at  timestamptz null,
  reason      text        not null
              constraint user_feature_overrides_reason_length check (length(btrim(reason)) between 1 and 1000),
  set_by      text        null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint user_feature_overrides_flag_unit_key unique (flag_key, unit)
);
comment on table trimtab.user_feature_overrides is
  'trimtab: per-unit overrides. unit is the value of the flag''s stickiness attribute (the JWT sub for userId); users read only rows whose unit is their own sub.';
create index user_feature_overrides_unit_idx on trimtab.user_feature_overrides (unit);

create table trimtab.flag_audit_log (
  id             bigint      generated always as identity primary key,
  at             timestamptz not null default now(),
  actor          text        not null,
  action         text        not null
                 constraint flag_audit_log_action_format check (action ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  flag_key       text        null,   -- no FK: the log outlives deleted flags
  unit           text        null,
  before         jsonb       null,
  after          jsonb       null,
  reason         text        null
                 constraint flag_audit_log_reason_length check (length(reason) <= 1000),
  config_version bigint      null    -- flag_config_version.version after the change
);
comment on table trimtab.flag_audit_log is
  'trimtab: append-only audit of every flag and override change (written by triggers, or by admins directly).';
create index flag_audit_log_flag_at_idx on trimtab.flag_audit_log (flag_key, at desc);
create index flag_audit_log_at_idx on trimtab.flag_audit_log (at desc);

create table trimtab.flag_config_version (
  id         boolean     primary key default true constraint flag_config_version_one_row check (id),
  version    bigint      not null default 1,
  updated_at timestamptz not null default now()
);
comment on table trimtab.flag_config_version is
  'trimtab: one row; version moves on every change to flags or overrides.';
insert into trimtab.flag_config_version (id, version) values (true, 1);

-- ---------------------------------------------------------------------------------------------
-- triggers

create or replace function trimtab.touch_updated_at()
  returns trigger
  language plpgsql
  set search_path to ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger feature_flags_touch before update on trimtab.feature_flags
  for each row execute function trimtab.touch_updated_at();
create trigger user_feature_overrides_touch before update on trimtab.user_feature_overrides
  for each row execute function trimtab.touch_updated_at();

create or replace function trimtab.override_set_by()
  returns trigger
  language plpgsql
  set search_path to ''
as $$
begin
  new.set_by := coalesce(
    nullif(current_setting('trimtab.actor', true), ''),
    auth.jwt() ->> 'sub',
    auth.jwt() ->> 'role',
    session_user::text);
  return new;
end
$$;

create trigger user_feature_overrides_set_by before insert or update on trimtab.user_feature_overrides
  for each row execute function trimtab.override_set_by();

-- TRUNCATE has no row triggers: bump the version for it here (the audit trigger bumps it for
-- every changed row). SECURITY DEFINER: callers have no write access to flag_config_version.
create or replace function trimtab.bump_config_version()
  returns trigger
  language plpgsql
  security definer
  set search_path to ''
as $$
begin
  update trimtab.flag_config_version set version = version + 1, updated_at = now() where id;
  return null;
end
$$;

create trigger feature_flags_bump_version_truncate after truncate on trimtab.feature_flags
  for each statement execute function trimtab.bump_config_version();
create trigger user_feature_overrides_bump_version_truncate after truncate on trimtab.user_feature_overrides
  for each statement execute function trimtab.bump_config_version();

-- For every changed row: bump the config version and write one audit row carrying it.
-- Unchanged rows (an UPDATE that sets the same values) and refused changes (RLS filtered them
-- out) do neither. SECURITY DEFINER so neither can be skipped by a caller lacking privileges on
-- the log or the version; the caller must still pass the table's RLS to change anything.
create or replace function trimtab.audit_row()
  returns trigger
  language plpgsql
  security definer
  set search_path to ''
as $$
declare
  old_doc jsonb := case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end;
  new_doc jsonb := case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end;
  kind    text  := case when tg_table_name = 'feature_flags' then 'flag' else 'override' end;
  claims  jsonb := auth.jwt();
  v       bigint;
begin
  if tg_op = 'UPDATE' and (old_doc - 'updated_at') = (new_doc - 'updated_at') then
    return null;  -- nothing changed
  end if;
  update trimtab.flag_config_version set version = version + 1, updated_at = now() where id
    returning version into v;
  insert into trimtab.flag_audit_log (actor, action, flag_key, unit, before, after, reason, config_version)
  values (
    coalesce(nullif(current_setting('trimtab.actor', true), ''), claims ->> 'sub', claims ->> 'role', session_user::text),
    coalesce(nullif(current_setting('trimtab.action', true), ''), kind || '.' || lower(tg_op)),
    coalesce(new_doc, old_doc) ->> case when kind = 'flag' then 'key' else 'flag_key' end,
    case when kind = 'override' then coalesce(new_doc, old_doc) ->> 'unit' end,
    old_doc,
    new_doc,
    nullif(current_setting('trimtab.reason', true), ''),
    v
  );
  return null;
end
$$;

create trigger feature_flags_audit after insert or update or delete on trimtab.feature_flags
  for each row execute function trimtab.audit_row();
create trigger user_feature_overrides_audit after insert or update or delete on trimtab.user_feature_overrides
  for each row execute function trimtab.audit_row();

-- The audit log is append-only for everyone; changing history needs the table owner to
-- disable this trigger explicitly.
create or replace function trimtab.audit_append_only()
  returns trigger
  language plpgsql
  set search_path to ''
as $$
begin
  raise exception 'flag_audit_log is append-only' using errcode = '42501';
end
$$;

create trigger flag_audit_log_append_only before update or delete on trimtab.flag_audit_log
  for each row execute function trimtab.audit_append_only();
create trigger flag_audit_log_no_truncate before truncate on trimtab.flag_audit_log
  for each statement execute function trimtab.audit_append_only();

-- ---------------------------------------------------------------------------------------------
-- privileges (explicit, so they do not depend on the database's default privileges)

revoke all on trimtab.feature_flags, trimtab.user_feature_overrides, trimtab.flag_audit_log,
              trimtab.flag_config_version from anon, authenticated, service_role;

grant select on trimtab.feature_flags, trimtab.flag_config_version to anon, authenticated, service_role;
grant insert, update, delete on trimtab.feature_flags to authenticated, service_role;
grant select, insert, update, delete on trimtab.user_feature_overrides to authenticated, service_role;
grant select, insert on trimtab.flag_audit_log to authenticated, service_role;

revoke all on function trimtab.bump_config_version() from public, anon, authenticated;
revoke all on function trimtab.audit_row() from public, anon, authenticated;
grant execute on function trimtab.is_admin() to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- row-level security

alter table trimtab.feature_flags enable row level security;
alter table trimtab.user_feature_overrides enable row level security;
alter table trimtab.flag_audit_log enable row level security;
alter table trimtab.flag_config_version enable row level security;

-- flags: everyone may read client-visible flags (the browser snapshot); admins read all.
create policy feature_flags_read on trimtab.feature_flags
  for select to anon, authenticated
  using (client_visible or (select trimtab.is_admin()));
create policy feature_flags_admin_insert on trimtab.feature_flags
  for insert to authenticated
  with check ((select trimtab.is_admin()));
create policy feature_flags_admin_update on trimtab.feature_flags
  for update to authenticated
  using ((select trimtab.is_admin()))
  with check ((select trimtab.is_admin()));
create policy feature_flags_admin_delete on trimtab.feature_flags
  for delete to authenticated
  using ((select trimtab.is_admin()));

-- overrides: a user reads only their own; admins read and change all.
create policy user_feature_overrides_read_own on trimtab.user_feature_overrides
  for select to authenticated
  using (unit = (select auth.jwt() ->> 'sub') or (select trimtab.is_admin()));
create policy user_feature_overrides_admin_insert on trimtab.user_feature_overrides
  for insert to authenticated
  with check ((select trimtab.is_admin()));
create policy user_feature_overrides_admin_update on trimtab.user_feature_overrides
  for update to authenticated
  using ((select trimtab.is_admin()))
  with check ((select trimtab.is_admin()));
create policy user_feature_overrides_admin_delete on trimtab.user_feature_overrides
  for delete to authenticated
  using ((select trimtab.is_admin()));

-- audit: admins read and append; no update/delete policy at all.
create policy flag_audit_log_admin_read on trimtab.flag_audit_log
  for select to authenticated
  using ((select trimtab.is_admin()));
create policy flag_audit_log_admin_append on trimtab.flag_audit_log
  for insert to authenticated
  with check ((select trimtab.is_admin()));

-- version: readable by everyone (it is the snapshot's ETag); written only by the trigger.
create policy flag_config_version_read on trimtab.flag_config_version
  for select to anon, authenticated
  using (true);
