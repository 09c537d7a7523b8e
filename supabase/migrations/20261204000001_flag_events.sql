-- flag_events: the usage log of OpenFeature tracking events (track()), one row per event. Written
-- by POST /functions/v1/flags/events as the calling user (row-level security: a user inserts only
-- rows with their own id) and by the edge's server provider as the service role. Admins read.
--
-- Event shape (validated by js/openfeature.js trackingEvent before it gets here): name 1-64 of
-- [A-Za-z0-9_.:-], an optional finite numeric value, and at most 16 flat details (string of at
-- most 256 characters, number or boolean), stored as jsonb.

create table trimtab.flag_events (
  id       bigint      generated always as identity primary key,
  at       timestamptz not null default now(),
  user_id  text        null
           constraint flag_events_user_id_length check (length(user_id) between 1 and 128),
  name     text        not null
           constraint flag_events_name_format check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  value    double precision null,
  details  jsonb       not null default '{}'::jsonb
           constraint flag_events_details_object check (jsonb_typeof(details) = 'object'),
  source   text        not null
           constraint flag_events_source_values check (source in ('web', 'server'))
);
comment on table trimtab.flag_events is
  'trimtab: OpenFeature tracking events (track()), from browsers (the caller''s own) and edge functions.';
create index flag_events_name_at_idx on trimtab.flag_events (name, at desc);
create index flag_events_at_idx on trimtab.flag_events (at desc);

revoke all on trimtab.flag_events from public, anon, authenticated, service_role;
grant select, insert on trimtab.flag_events to authenticated;
grant select, insert, delete on trimtab.flag_events to service_role;

alter table trimtab.flag_events enable row level security;

create policy flag_events_own_insert on trimtab.flag_events
  for insert to authenticated
  with check (source = 'web' and user_id = (select auth.jwt() ->> 'sub'));
create policy flag_events_admin_read on trimtab.flag_events
  for select to authenticated using ((select trimtab.is_admin()));
create policy flag_events_service on trimtab.flag_events
  for all to service_role using (true) with check (true);
