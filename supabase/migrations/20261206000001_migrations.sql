-- trimtab migration toolkit: what safeMigration, the batch data-migration runner, deprecated
-- endpoints and the readiness check store. Plain SQL for Supabase, the Debian PostgreSQL server
-- and PGlite.
--
-- ai_usage_logs gains
--   unit_bucket: the unit's bucket for the row's flag (bucket(flag, unit), 0..999 999), written
--                by safeMigration so rollout-status can count the units on each path (adoption)
--                without storing who they are;
--   metadata:    a jsonb object; rows copied by a data migration carry
--                { migration, original_id, run } (and overwritten_by when a later run replaced
--                them). A unique index on (migration, original_id) makes a copy idempotent by
--                source id: a resumed or repeated run never inserts a row twice.
-- migration_runs:    one row per run of a data migration (cursor = the last source id copied,
--                    counts, checksums, status), written in the same transaction as each batch.
-- migration_backups: the target rows a run overwrote, as they were (to_jsonb), for its rollback.
-- deprecated_calls:  who still calls a deprecated endpoint: one row per route, caller kind,
--                    caller (a hash of the user id, or the API key's name) and user agent.
--
-- Only the service role writes; admins read; nobody else reads.

alter table trimtab.ai_usage_logs
  add column unit_bucket integer null
    constraint ai_usage_logs_unit_bucket_range check (unit_bucket between 0 and 999999),
  add column metadata jsonb null
    constraint ai_usage_logs_metadata_object check (metadata is null or jsonb_typeof(metadata) = 'object');

create unique index ai_usage_logs_migrated_idx
  on trimtab.ai_usage_logs ((metadata ->> 'migration'), (metadata ->> 'original_id'))
  where (metadata ->> 'original_id') is not null;

create table trimtab.migration_runs (
  id              bigint      generated always as identity primary key,
  migration       text        not null
                  constraint migration_runs_migration_format check (migration ~ '^[a-z][a-z0-9_]{0,62}$'),
  source_table    text        not null,
  target_table    text        not null,
  batch_size      integer     not null
                  constraint migration_runs_batch_size_range check (batch_size between 1 and 50000),
  status          text        not null default 'running'
                  constraint migration_runs_status_values
                  check (status in ('running', 'stopped', 'completed', 'failed', 'rolled_back')),
  -- the last source id copied (the next batch starts after it); null before the first batch
  cursor          bigint      null,
  batches         integer     not null default 0,
  copied          bigint      not null default 0,
  overwritten     bigint      not null default 0,
  unchanged       bigint      not null default 0,
  source_count    bigint      null,
  target_count    bigint      null,
  source_checksum text        null,
  target_checksum text        null,
  validated       boolean     not null default false,
  error           text        null
                  constraint migration_runs_error_length check (length(error) <= 2000),
  started_by      text        null,
  started_at      timestamptz not null default now(),
  heartbeat_at    timestamptz not null default now(),
  finished_at     timestamptz null,
  rolled_back_at  timestamptz null,
  rolled_back_by  text        null
);
comment on table trimtab.migration_runs is
  'trimtab: runs of batch data migrations (cursor, counts, checksums, status); one active run per migration.';
-- at most one run per migration is running or stopped (resumable) at a time
create unique index migration_runs_active_idx on trimtab.migration_runs (migration)
  where status in ('running', 'stopped');
create index migration_runs_migration_idx on trimtab.migration_runs (migration, id desc);

create table trimtab.migration_backups (
  id           bigint      generated always as identity primary key,
  run_id       bigint      not null references trimtab.migration_runs (id) on delete cascade,
  target_table text        not null,
  target_id    text        not null,
  original_id  text        not null,
  row          jsonb       not null,
  at           timestamptz not null default now()
);
comment on table trimtab.migration_backups is
  'trimtab: target rows a data-migration run overwrote, as they were before (for its rollback).';
create index migration_backups_run_idx on trimtab.migration_backups (run_id);

create table trimtab.deprecated_calls (
  route       text        not null constraint deprecated_calls_route_length check (length(route) between 1 and 200),
  caller_kind text        not null constraint deprecated_calls_kind_values
              check (caller_kind in ('anon', 'user', 'admin', 'service', 'invalid')),
  -- a SHA-256 prefix of the caller's user id, or the API key's name; '' when neither
  caller      text        not null default '' constraint deprecated_calls_caller_length check (length(caller) <= 100),
  user_agent  text        not null default '' constraint deprecated_calls_user_agent_length check (length(user_agent) <= 200),
  calls       bigint      not null default 0,
  gone        bigint      not null default 0,
  first_at    timestamptz not null default now(),
  last_at     timestamptz not null default now(),
  primary key (route, caller_kind, caller, user_agent)
);
comment on table trimtab.deprecated_calls is
  'trimtab: callers of deprecated endpoints (no identifiers: a hash of the user id or the API key name).';
create index deprecated_calls_last_idx on trimtab.deprecated_calls (last_at desc);

-- ---------------------------------------------------------------------------------------------
-- grants and row-level security

revoke all on trimtab.migration_runs, trimtab.migration_backups, trimtab.deprecated_calls
  from public, anon, authenticated, service_role;
grant select on trimtab.migration_runs, trimtab.migration_backups, trimtab.deprecated_calls to authenticated;
grant select, insert, update, delete on trimtab.migration_runs, trimtab.migration_backups,
  trimtab.deprecated_calls to service_role;
grant update on trimtab.ai_usage_logs to service_role;

alter table trimtab.migration_runs enable row level security;
alter table trimtab.migration_backups enable row level security;
alter table trimtab.deprecated_calls enable row level security;

create policy migration_runs_admin_read on trimtab.migration_runs
  for select to authenticated using ((select trimtab.is_admin()));
create policy migration_backups_admin_read on trimtab.migration_backups
  for select to authenticated using ((select trimtab.is_admin()));
create policy deprecated_calls_admin_read on trimtab.deprecated_calls
  for select to authenticated using ((select trimtab.is_admin()));
