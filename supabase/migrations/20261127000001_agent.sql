-- trimtab agent schema: customers, vouchers with their transitions, durable webhook dedup and
-- idempotency keys. Plain SQL for Supabase, the Debian PostgreSQL server and PGlite alike.
--
-- Vouchers move issued -> redeemed | voided and nowhere else; the rule is enforced here as well
-- as in the Wasm (a trigger refuses any other status change and any change to the amount, the
-- currency, the code, the holder or the expiry). Callers redeem atomically:
--   update vouchers set status = 'redeemed' where code = $1 and status = 'issued' returning *
-- so of N concurrent redeems exactly one gets a row back. Every insert and status change writes a
-- voucher_events row (who, when, correlation id, reason), from the transaction settings
--   trimtab.actor, trimtab.correlation_id, trimtab.reason
-- Idempotency-Key handling (ai-create-voucher): the key row is inserted with ON CONFLICT DO
-- NOTHING in the same transaction as the voucher and completed (status, response) before commit,
-- so a concurrent request with the same key waits on the key's unique index and then reads the
-- finished answer; a rolled-back attempt leaves no key behind.
-- Webhook deliveries are deduplicated with
--   insert into webhook_events (provider, event_id) values (...) on conflict do nothing returning 1
-- and kept 7 days by default (Meta retries for days): trimtab.purge_webhook_events(interval).
--
-- Only the service role (the edge functions) writes; admins may read everything; an
-- authenticated user may read the customer row linked to their own JWT sub.

-- ---------------------------------------------------------------------------------------------
-- tables

create table trimtab.customers (
  id           uuid        primary key default gen_random_uuid(),
  phone        text        not null unique
               constraint customers_phone_e164 check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  display_name text        null
               constraint customers_display_name_length check (length(display_name) <= 200),
  user_id      text        null unique
               constraint customers_user_id_length check (length(user_id) between 1 and 200),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);
comment on table trimtab.customers is 'trimtab: customers, by E.164 phone number.';

create table trimtab.vouchers (
  id           uuid        primary key default gen_random_uuid(),
  code         text        not null unique
               constraint vouchers_code_format check (code ~ '^[0-9A-Z-]{6,40}$'),
  customer_id   uuid        not null references trimtab.customers (id) on delete restrict,
  amount_minor bigint      not null
               constraint vouchers_amount_positive check (amount_minor > 0),
  currency     text        not null
               constraint vouchers_currency_format check (currency ~ '^[A-Z]{3}$'),
  status       text        not null default 'issued'
               constraint vouchers_status_values check (status in ('issued', 'redeemed', 'voided')),
  expires_at   timestamptz not null,
  created_by   text        not null default coalesce(nullif(current_setting('trimtab.actor', true), ''), session_user),
  created_at   timestamptz not null default now(),
  redeemed_at  timestamptz null,
  voided_at    timestamptz null,
  constraint vouchers_expiry_after_creation check (expires_at > created_at),
  constraint vouchers_redeemed_at check ((status = 'redeemed') = (redeemed_at is not null)),
  constraint vouchers_voided_at check ((status = 'voided') = (voided_at is not null))
);
create index vouchers_customer_idx on trimtab.vouchers (customer_id);
comment on table trimtab.vouchers is 'trimtab: vouchers; status moves issued -> redeemed | voided only.';

create table trimtab.voucher_events (
  id             bigint      generated always as identity primary key,
  voucher_id     uuid        not null references trimtab.vouchers (id) on delete cascade,
  from_status    text        null,
  to_status      text        not null,
  actor          text        not null,
  correlation_id text        null,
  reason         text        null
                 constraint voucher_events_reason_length check (length(reason) <= 1000),
  at             timestamptz not null default now()
);
create index voucher_events_voucher_idx on trimtab.voucher_events (voucher_id, id);
comment on table trimtab.voucher_events is 'trimtab: every voucher transition (append-only).';

create table trimtab.webhook_events (
  provider       text        not null
                 constraint webhook_events_provider_format check (provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
  event_id       text        not null
                 constraint webhook_events_event_id_length check (length(event_id) between 1 and 300),
  received_at    timestamptz not null default now(),
  correlation_id text        null,
  primary key (provider, event_id)
);
create index webhook_events_received_idx on trimtab.webhook_events (received_at);
comment on table trimtab.webhook_events is
  'trimtab: one row per processed webhook event (durable dedup across isolates); purged after 7 days by default.';

create table trimtab.idempotency_keys (
  scope        text        not null
               constraint idempotency_keys_scope_format check (scope ~ '^[a-z][a-z0-9_-]{0,63}$'),
  key          text        not null
               constraint idempotency_keys_key_length check (length(key) between 1 and 255),
  request_hash text        not null
               constraint idempotency_keys_hash_format check (request_hash ~ '^[0-9a-f]{64}$'),
  status       integer     null
               constraint idempotency_keys_status_range check (status between 100 and 599),
  -- json, not jsonb: a replay sends back the first answer byte for byte (same key order).
  response     json        null,
  created_at   timestamptz not null default now(),
  primary key (scope, key)
);
comment on table trimtab.idempotency_keys is
  'trimtab: Idempotency-Key results: the same key and body returns the first result; another body is a 409.';

-- ---------------------------------------------------------------------------------------------
-- triggers

create trigger customers_touch before update on trimtab.customers
  for each row execute function trimtab.touch_updated_at();

create or replace function trimtab.voucher_guard()
  returns trigger
  language plpgsql
  set search_path to ''
as $$
begin
  if new.code is distinct from old.code or new.customer_id is distinct from old.customer_id
     or new.amount_minor is distinct from old.amount_minor or new.currency is distinct from old.currency
     or new.created_at is distinct from old.created_at or new.created_by is distinct from old.created_by
     or new.expires_at is distinct from old.expires_at
     or (new.status is not distinct from old.status
         and (new.redeemed_at is distinct from old.redeemed_at or new.voided_at is distinct from old.voided_at)) then
    raise exception 'voucher % is immutable except for its status', old.code using errcode = 'check_violation';
  end if;
  if new.status is distinct from old.status then
    if old.status <> 'issued' then
      raise exception 'VOUCHER_NOT_ISSUED: voucher is %', old.status using errcode = 'check_violation';
    end if;
    if new.status = 'redeemed' then new.redeemed_at := coalesce(new.redeemed_at, now()); end if;
    if new.status = 'voided' then new.voided_at := coalesce(new.voided_at, now()); end if;
  end if;
  return new;
end;
$$;
create trigger vouchers_guard before update on trimtab.vouchers
  for each row execute function trimtab.voucher_guard();

create or replace function trimtab.voucher_event()
  returns trigger
  language plpgsql
  security definer
  set search_path to ''
as $$
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return null;
  end if;
  insert into trimtab.voucher_events (voucher_id, from_status, to_status, actor, correlation_id, reason)
  values (
    new.id,
    case when tg_op = 'UPDATE' then old.status end,
    new.status,
    coalesce(nullif(current_setting('trimtab.actor', true), ''), session_user),
    nullif(current_setting('trimtab.correlation_id', true), ''),
    nullif(current_setting('trimtab.reason', true), '')
  );
  return null;
end;
$$;
create trigger vouchers_event after insert or update on trimtab.vouchers
  for each row execute function trimtab.voucher_event();

create or replace function trimtab.voucher_events_append_only()
  returns trigger
  language plpgsql
  set search_path to ''
as $$
begin
  raise exception 'voucher_events is append-only' using errcode = 'insufficient_privilege';
end;
$$;
create trigger voucher_events_append_only before update on trimtab.voucher_events
  for each row execute function trimtab.voucher_events_append_only();

-- ---------------------------------------------------------------------------------------------
-- retention

create or replace function trimtab.purge_webhook_events(keep interval default interval '7 days')
  returns bigint
  language plpgsql
  security definer
  set search_path to ''
as $$
declare
  n bigint;
begin
  if keep < interval '1 hour' then
    raise exception 'keep webhook events at least an hour' using errcode = 'invalid_parameter_value';
  end if;
  delete from trimtab.webhook_events where received_at < now() - keep;
  get diagnostics n = row_count;
  delete from trimtab.idempotency_keys where created_at < now() - keep;
  return n;
end;
$$;
comment on function trimtab.purge_webhook_events(interval) is
  'trimtab: deletes webhook events (and idempotency keys) older than keep (default 7 days); returns the events deleted.';

-- Scheduled daily by pg_cron where the platform has it (20261127000003_schedule.sql); the local
-- stack calls it hourly.

-- ---------------------------------------------------------------------------------------------
-- grants and row-level security

revoke all on trimtab.customers, trimtab.vouchers, trimtab.voucher_events, trimtab.webhook_events,
  trimtab.idempotency_keys from public, anon, authenticated, service_role;
grant select on trimtab.customers, trimtab.vouchers, trimtab.voucher_events to authenticated;
grant select, insert, update on trimtab.customers, trimtab.vouchers to service_role;
grant select, insert on trimtab.voucher_events, trimtab.webhook_events to service_role;
grant select, insert, update on trimtab.idempotency_keys to service_role;
grant delete on trimtab.webhook_events, trimtab.idempotency_keys to service_role;
revoke all on function trimtab.purge_webhook_events(interval) from public, anon, authenticated;
grant execute on function trimtab.purge_webhook_events(interval) to service_role;
revoke all on function trimtab.voucher_event() from public, anon, authenticated;

alter table trimtab.customers enable row level security;
alter table trimtab.vouchers enable row level security;
alter table trimtab.voucher_events enable row level security;
alter table trimtab.webhook_events enable row level security;
alter table trimtab.idempotency_keys enable row level security;

create policy customers_read on trimtab.customers
  for select to authenticated
  using ((select trimtab.is_admin()) or user_id = (select auth.jwt() ->> 'sub'));
create policy vouchers_read on trimtab.vouchers
  for select to authenticated
  using ((select trimtab.is_admin())
         or customer_id in (select p.id from trimtab.customers p where p.user_id = (select auth.jwt() ->> 'sub')));
create policy voucher_events_read on trimtab.voucher_events
  for select to authenticated
  using ((select trimtab.is_admin()));
