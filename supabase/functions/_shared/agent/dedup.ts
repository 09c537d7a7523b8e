// Webhook event dedup, two layers:
//   1. in this isolate, the Wasm DedupWindow (bounded, with a TTL): a retry or a concurrent copy
//      that reaches the same isolate is dropped in O(1) without a database round trip;
//   2. durably, across isolates and restarts, one row per (provider, event id) in webhook_events:
//        insert into trimtab.webhook_events (provider, event_id, correlation_id) values (...)
//        on conflict do nothing returning 1
//      Exactly one of any number of concurrent inserts gets its row back; only that caller
//      processes the event. Rows are kept 7 days by default (trimtab.purge_webhook_events).
//
// The semantics are at most once: an event is claimed before it is processed, so a failure while
// processing is not retried (the webhooks answer 200 anyway; the user is told to try again).
// A database error while claiming is thrown (the event is not processed: it cannot be proven new)
// and the id leaves the window again, so the provider's redelivery is processed.
import type { Queryable } from "../platform/db.ts";
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

/**
 * Claims `(provider, eventId)`: "new" exactly once across every isolate sharing the database,
 * "duplicate-isolate" when this isolate saw it within the window, "duplicate" when the database
 * already had it.
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
      "insert into trimtab.webhook_events (provider, event_id, correlation_id) values ($1, $2, $3) " +
        "on conflict (provider, event_id) do nothing returning 1 as claimed",
      [provider, eventId, correlationId ?? null],
    );
  } catch (e) {
    inIsolate().forget(key); // not claimed: a redelivery must get its chance
    throw e;
  }
  return rows.length === 1 ? "new" : "duplicate";
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
