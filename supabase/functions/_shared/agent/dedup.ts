// Webhook events: recorded once, processed at least once (table trimtab.webhook_events, migration
// 20261206000003_edge_reliability.sql, which describes the states).
//
// Recording, two layers:
//   1. in this isolate, the Wasm DedupWindow (bounded, with a TTL): a retry or a concurrent copy
//      that reaches the same isolate is dropped in O(1) without a database round trip;
//   2. durably, across isolates and restarts, one row per (provider, event id):
//        insert into trimtab.webhook_events (...) values (...) on conflict do nothing returning event_id
//      exactly one of any number of concurrent inserts gets its row back: that caller processes it.
// A database error while recording is thrown (the webhook answers 5xx, so the provider delivers
// again) and the ids leave the window, so that redelivery is recorded.
//
// Processing: `claim` moves a row to 'processing' with a lease (WEBHOOK_LEASE_MS) and counts the
// attempt; `settle` marks it processed, or failed with its error code and the next attempt after
// an exponential backoff (WEBHOOK_RETRY_BASE_MS doubling, at most WEBHOOK_RETRY_MAX_MS), until
// WEBHOOK_MAX_ATTEMPTS are used (then next_attempt_at is null: given up). `due` lists what the
// retry job should take up: failed events whose time has come, events never claimed, events whose
// lease ran out (their isolate died while processing); `giveUpStranded` fails, for good, those whose
// last allowed attempt was cut off that way. Rows are kept 7 days by default
// (trimtab.purge_webhook_events).
import type { Queryable, Row } from "../platform/db.ts";
import { onDbChange } from "../platform/store.ts";
import { DedupWindow } from "../platform/trimtab.ts";
import { envPositive } from "../platform/env.ts";

/** In-isolate window size and TTL: WEBHOOK_DEDUP_CAPACITY (default 10000), WEBHOOK_DEDUP_TTL_MS (10 min). */
let window: DedupWindow | null = null;

function inIsolate(): DedupWindow {
  return window ??= new DedupWindow(
    envPositive("WEBHOOK_DEDUP_CAPACITY", { integer: true }),
    envPositive("WEBHOOK_DEDUP_TTL_MS", { integer: true }),
  );
}

/** Forgets the in-isolate window (tests: only the durable layer remains until the next event). */
export function resetDedupWindow(): void {
  window?.free();
  window = null;
}

// A new database means new durable state: start the window afresh too.
onDbChange(resetDedupWindow);

export type Claim = "new" | "duplicate-isolate" | "duplicate";

/** Retry settings (environment, read on each call). */
export function retrySettings() {
  return {
    maxAttempts: envPositive("WEBHOOK_MAX_ATTEMPTS", { integer: true }),
    leaseMs: envPositive("WEBHOOK_LEASE_MS", { integer: true }),
    baseMs: envPositive("WEBHOOK_RETRY_BASE_MS", { integer: true }),
    maxMs: envPositive("WEBHOOK_RETRY_MAX_MS", { integer: true }),
  };
}

/**
 * Records events `{ id, payload }` of one delivery as 'received' (first attempt due after the
 * lease, in case this isolate dies before claiming them); an event marked `done` (nothing to
 * retry: its handling has no side effect, e.g. a delivery status that is only logged) is recorded
 * straight as 'processed', without its payload. Returns the ids recorded now, and how many others
 * were seen before in this isolate or in the database. Throws when the database fails.
 */
export async function recordEvents(
  db: Queryable,
  provider: string,
  events: { id: string; payload: unknown; done?: boolean }[],
  correlationId?: string,
): Promise<{ recorded: Set<string>; inIsolate: number; inDatabase: number }> {
  const keyOf = (id: string) => `${provider}\u0000${id}`;
  const fresh = events.filter((e) => inIsolate().firstSeen(keyOf(e.id)));
  const seen = events.length - fresh.length;
  if (fresh.length === 0) return { recorded: new Set(), inIsolate: seen, inDatabase: 0 };
  let rows: Row[];
  try {
    rows = await db.query(
      `insert into trimtab.webhook_events
         (provider, event_id, correlation_id, state, payload, next_attempt_at, processed_at)
       select $1, e ->> 'id', $2, case when done then 'processed' else 'received' end,
              case when done then null else e -> 'payload' end,
              case when done then null else now() + make_interval(secs => $4::int / 1000.0) end,
              case when done then now() end
         from jsonb_array_elements($3::text::jsonb) as e,
              lateral (select coalesce((e ->> 'done')::boolean, false) as done) as d
       on conflict (provider, event_id) do nothing
       returning event_id`,
      [provider, correlationId ?? null, JSON.stringify(fresh), retrySettings().leaseMs],
    );
  } catch (e) {
    for (const f of fresh) inIsolate().forget(keyOf(f.id)); // not recorded: a redelivery must get its chance
    throw e;
  }
  const recorded = new Set(rows.map((r) => String(r.event_id)));
  return { recorded, inIsolate: seen, inDatabase: fresh.length - recorded.size };
}

/**
 * Claims `(provider, eventId)` for one delivery that needs no processing state (OpenAI's call
 * events, handled at once and never retried): "new" exactly once across every isolate, recorded
 * as processed; "duplicate-isolate" / "duplicate" otherwise. Throws when the database fails.
 */
export async function claimEvent(
  db: Queryable,
  provider: string,
  eventId: string,
  correlationId?: string,
): Promise<Claim> {
  const key = `${provider}\u0000${eventId}`;
  if (!inIsolate().firstSeen(key)) return "duplicate-isolate";
  let rows;
  try {
    rows = await db.query(
      "insert into trimtab.webhook_events (provider, event_id, correlation_id, state, attempts, processed_at) " +
        "values ($1, $2, $3, 'processed', 1, now()) on conflict (provider, event_id) do nothing returning 1 as claimed",
      [provider, eventId, correlationId ?? null],
    );
  } catch (e) {
    inIsolate().forget(key);
    throw e;
  }
  return rows.length === 1 ? "new" : "duplicate";
}

/** A claimed event: what was recorded, the reply if one was already produced, the attempt number. */
export interface Claimed {
  payload: unknown;
  reply: unknown;
  attempts: number;
}

const asJson = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v ?? null);

/**
 * Moves an event to 'processing' for one attempt; null when it is not there to take (processed,
 * held by another isolate's live lease, given up, or, with `dueOnly`, not due yet).
 */
export async function claim(
  db: Queryable,
  provider: string,
  eventId: string,
  dueOnly: boolean,
): Promise<Claimed | null> {
  const s = retrySettings();
  const [r] = await db.query<Row>(
    `update trimtab.webhook_events
        set state = 'processing', attempts = attempts + 1,
            locked_until = now() + make_interval(secs => $3::int / 1000.0)
      where provider = $1 and event_id = $2 and attempts < $4
        and (state in ('received', 'failed') or (state = 'processing' and locked_until < now()))
        and (not $5::boolean or state = 'processing' or next_attempt_at <= now())
      returning payload, reply, attempts`,
    [provider, eventId, s.leaseMs, s.maxAttempts, dueOnly],
  );
  return r ? { payload: asJson(r.payload), reply: asJson(r.reply), attempts: Number(r.attempts) } : null;
}

/** Keeps the reply an attempt produced, so a later attempt sends it rather than working again. */
export async function storeReply(db: Queryable, provider: string, eventId: string, reply: unknown): Promise<void> {
  await db.query(
    "update trimtab.webhook_events set reply = $3::text::jsonb where provider = $1 and event_id = $2",
    [provider, eventId, JSON.stringify(reply)],
  );
}

/** Ends an attempt: processed, or failed with `error` (retried after a backoff until the attempts
 *  are used up). Returns whether a failed event was given up. */
export async function settle(
  db: Queryable,
  provider: string,
  eventId: string,
  error: string | null,
): Promise<{ gaveUp: boolean }> {
  if (error === null) {
    await db.query(
      `update trimtab.webhook_events
          set state = 'processed', processed_at = now(), locked_until = null, last_error = null,
              next_attempt_at = null, payload = null, reply = null
        where provider = $1 and event_id = $2`,
      [provider, eventId],
    );
    return { gaveUp: false };
  }
  const s = retrySettings();
  const [r] = await db.query<Row>(
    `update trimtab.webhook_events
        set state = 'failed', locked_until = null, last_error = left($3, 200),
            next_attempt_at = case when attempts >= $4 then null
              else now() + make_interval(secs => least($5::float8 * power(2, attempts - 1), $6::float8) / 1000.0) end
      where provider = $1 and event_id = $2
      returning next_attempt_at is null as gave_up`,
    [provider, eventId, error, s.maxAttempts, s.baseMs, s.maxMs],
  );
  return { gaveUp: r?.gave_up === true };
}

/** Events of `provider` the retry job should take up now, oldest first (at most `limit`). */
export async function due(db: Queryable, provider: string, limit: number): Promise<string[]> {
  const rows = await db.query<Row>(
    `select event_id from trimtab.webhook_events
      where provider = $1 and attempts < $2
        and ((state in ('received', 'failed') and next_attempt_at <= now())
             or (state = 'processing' and locked_until < now()))
      order by received_at limit $3`,
    [provider, retrySettings().maxAttempts, limit],
  );
  return rows.map((r) => String(r.event_id));
}

/** Gives up events of `provider` whose last allowed attempt was cut off (state 'processing', the
 *  lease run out, no attempt left): marked failed with LEASE_EXPIRED and no next attempt, so they
 *  do not stay 'processing' for good. Returns their payloads (the caller tells the sender). */
export async function giveUpStranded(
  db: Queryable,
  provider: string,
  limit: number,
): Promise<{ eventId: string; payload: unknown }[]> {
  const rows = await db.query<Row>(
    `update trimtab.webhook_events
        set state = 'failed', locked_until = null, next_attempt_at = null, last_error = 'LEASE_EXPIRED'
      where (provider, event_id) in (
        select provider, event_id from trimtab.webhook_events
         where provider = $1 and state = 'processing' and locked_until < now() and attempts >= $2
         order by received_at limit $3
         for update skip locked)
      returning event_id, payload`,
    [provider, retrySettings().maxAttempts, limit],
  );
  return rows.map((r) => ({ eventId: String(r.event_id), payload: asJson(r.payload) }));
}

/** Days webhook events (and idempotency keys) are kept: WEBHOOK_RETENTION_DAYS, default 7. */
export function retentionDays(): number {
  return envPositive("WEBHOOK_RETENTION_DAYS", { integer: true });
}

/** Deletes webhook events (and idempotency keys) older than `days`; returns the events deleted.
 *  On Supabase pg_cron runs it daily; the local stack runs it hourly; callable on demand. */
export async function purgeWebhookEvents(db: Queryable, days = retentionDays()): Promise<number> {
  const [r] = await db.query<{ n: unknown }>(
    "select trimtab.purge_webhook_events(make_interval(days => $1::int)) as n",
    [days],
  );
  return Number(r?.n ?? 0);
}
