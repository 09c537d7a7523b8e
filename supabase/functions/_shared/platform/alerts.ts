//! Alerts that reach people: raised once per flag and reason within a window, stored in
//! trimtab.alerts with one outbox row per destination (trimtab.alert_deliveries), written as a log
//! line, and delivered by `deliverDue` (the guard's tick) with exponential backoff until delivered
//! or given up. The wire (destinations, secrets, payloads, signatures) is notify.ts.
//!
//! - `raiseAlert(q, alert, nowMs)`: in the caller's transaction. Deduplicated per (kind, flag):
//!   nothing is stored when the same kind was raised for the same flag, at the same severity or a
//!   higher one, within `dedupMs` (default TRIMTAB_ALERT_DEDUP_MS, one hour; 0: never
//!   deduplicated), so a warning that turns critical alerts again.
//! - `deliverDue(db, nowMs)`: claims the due outbox rows (a lease of a minute, `for update skip
//!   locked`, so concurrent ticks never send one twice), sends them, and records each attempt: the
//!   status, a secret-free error, `delivered_at`, or the next attempt after
//!   TRIMTAB_ALERT_RETRY_BASE_MS × 2^(attempts−1) (at most TRIMTAB_ALERT_RETRY_MAX_MS), or
//!   `given_up_at` after TRIMTAB_ALERT_MAX_ATTEMPTS attempts. The clock is `nowMs` (tests pin it).
//! - With the database down (`raiseWithoutDb`, the "flag service down" alert): delivered at once to
//!   every destination this isolate knows (the environment's, and the table's as last read), with
//!   two more attempts 1 s and 5 s later, and kept in memory; `flushPending(db)` stores it once the
//!   database answers again, with its deliveries as they went (undelivered ones join the outbox).
import type { Db, Queryable } from "./db.ts";
import { envNonNegative, envPositive } from "./env.ts";
import { log } from "./log.ts";
import {
  type AlertMessage,
  type Attempt,
  type Destination,
  envDestinations,
  knownDestinations,
  receives,
  rememberDestinations,
  send,
  SEVERITIES,
  type Severity,
} from "./notify.ts";

export interface AlertInput {
  /** Lowercase code: `error_rate`, `rollback`, `flag_service_down`, ... */
  kind: string;
  flag: string | null;
  severity: Severity;
  message: string;
  details?: Record<string, unknown>;
  /** Deduplication window for (kind, flag), ms; default TRIMTAB_ALERT_DEDUP_MS; 0: none. */
  dedupMs?: number;
}

const KIND = /^[a-z][a-z0-9_]{0,63}$/;
const iso = (ms: number) => new Date(ms).toISOString();

/** A destination row as the API and notify.ts see it. */
export function destinationOf(r: Record<string, unknown>): Destination {
  const flags = Array.isArray(r.flags)
    ? r.flags.map(String)
    : typeof r.flags === "string" && /^\{.*\}$/.test(r.flags)
    ? r.flags.slice(1, -1).split(",").filter(Boolean).map((s) => s.replace(/^"|"$/g, ""))
    : null;
  return {
    id: String(r.id),
    name: String(r.name),
    kind: r.kind === "slack" ? "slack" : "webhook",
    url: (r.url as string | null) ?? null,
    urlSecret: (r.url_secret as string | null) ?? null,
    signingSecret: (r.signing_secret as string | null) ?? null,
    minSeverity: SEVERITIES.includes(r.min_severity as Severity) ? r.min_severity as Severity : "warning",
    flags,
    enabled: r.enabled !== false,
  };
}

/** The table's destinations (remembered for deliveries without the database) and the
 *  environment's. */
export async function destinations(q: Queryable): Promise<Destination[]> {
  const rows = await q.query<Record<string, unknown>>("select * from trimtab.alert_destinations order by id");
  const list = rows.map(destinationOf);
  rememberDestinations(list);
  return [...envDestinations(), ...list];
}

function logLine(a: AlertMessage): void {
  const fields = { alert: a.kind, flag: a.flag, severity: a.severity, alertId: a.id, ...(a.details ?? {}) };
  if (a.severity === "critical") log.error(a.message, fields);
  else log.warn(a.message, fields);
}

/** Stores and logs `a` with its outbox rows, unless deduplicated (null). See the module docs. */
export async function raiseAlert(q: Queryable, a: AlertInput, nowMs = Date.now()): Promise<AlertMessage | null> {
  if (!KIND.test(a.kind)) throw new Error(`bad alert kind ${a.kind}`);
  const dedupMs = a.dedupMs ?? envNonNegative("TRIMTAB_ALERT_DEDUP_MS");
  if (dedupMs > 0) {
    const seen = await q.query(
      `select 1 from trimtab.alerts
        where kind = $1 and flag_key is not distinct from $2 and at > $3::timestamptz
          and array_position(array['info', 'warning', 'critical'], severity) >= $4 limit 1`,
      [a.kind, a.flag, iso(nowMs - dedupMs), SEVERITIES.indexOf(a.severity) + 1],
    );
    if (seen.length > 0) return null;
  }
  const message = a.message.slice(0, 2000) || a.kind;
  const [row] = await q.query<{ id: unknown }>(
    `insert into trimtab.alerts (at, kind, flag_key, severity, message, details)
     values ($1::timestamptz, $2, $3, $4, $5, $6::text::jsonb) returning id`,
    [iso(nowMs), a.kind, a.flag, a.severity, message, a.details ? JSON.stringify(a.details) : null],
  );
  const stored: AlertMessage = {
    id: String(row.id),
    kind: a.kind,
    flag: a.flag,
    severity: a.severity,
    message,
    details: a.details ?? null,
    at: iso(nowMs),
  };
  for (const d of (await destinations(q)).filter((d) => receives(d, stored))) {
    await q.query(
      `insert into trimtab.alert_deliveries (alert_id, destination, destination_name, next_attempt_at)
       values ($1::text::bigint, $2, $3, $4::timestamptz) on conflict do nothing`,
      [stored.id, d.id, d.name, iso(nowMs)],
    );
  }
  logLine(stored);
  return stored;
}

/** What one `deliverDue` run did. */
export interface DeliveryReport {
  attempted: number;
  delivered: number;
  retrying: number;
  gaveUp: number;
}

/** The delay before attempt `attempts + 1` after `attempts` failed ones. */
export function backoffMs(attempts: number): number {
  const base = envPositive("TRIMTAB_ALERT_RETRY_BASE_MS");
  const max = envPositive("TRIMTAB_ALERT_RETRY_MAX_MS");
  return Math.min(max, base * 2 ** Math.max(0, Math.min(attempts - 1, 40)));
}

const LEASE_MS = 60_000;

/** Sends every due outbox row once (at most `limit`); see the module docs. */
export async function deliverDue(db: Db, nowMs = Date.now(), limit = 50): Promise<DeliveryReport> {
  const report: DeliveryReport = { attempted: 0, delivered: 0, retrying: 0, gaveUp: 0 };
  const claimed = await db.query<Record<string, unknown>>(
    `update trimtab.alert_deliveries d
        set next_attempt_at = $2::timestamptz, attempts = d.attempts + 1, last_attempt_at = $1::timestamptz
      where d.id in (select id from trimtab.alert_deliveries
                      where next_attempt_at <= $1::timestamptz
                      order by next_attempt_at, id limit $3 for update skip locked)
      returning d.id, d.alert_id, d.destination, d.attempts`,
    [iso(nowMs), iso(nowMs + LEASE_MS), limit],
  );
  if (claimed.length === 0) return report;
  const byId = new Map((await destinations(db)).map((d) => [d.id, d]));
  const alertRows = await db.query<Record<string, unknown>>(
    "select * from trimtab.alerts where id = any($1::text::bigint[])",
    [`{${[...new Set(claimed.map((c) => String(c.alert_id)))].join(",")}}`],
  );
  const alerts = new Map(alertRows.map((r) => [String(r.id), alertOf(r)]));
  const max = envPositive("TRIMTAB_ALERT_MAX_ATTEMPTS", { integer: true });
  await Promise.all(claimed.map(async (c) => {
    report.attempted++;
    const d = byId.get(String(c.destination));
    const a = alerts.get(String(c.alert_id));
    const attempts = Number(c.attempts);
    const outcome: Attempt = !d || !d.enabled
      ? { ok: false, status: null, error: "destination removed or disabled" }
      : !a
      ? { ok: false, status: null, error: "alert removed" }
      : await send(d, a, nowMs, db);
    const final = outcome.ok || !d || !d.enabled || !a || attempts >= max;
    if (outcome.ok) report.delivered++;
    else if (final) report.gaveUp++;
    else report.retrying++;
    await db.query(
      `update trimtab.alert_deliveries
          set last_status = $2, last_error = $3,
              delivered_at = case when $4 then $5::timestamptz end,
              given_up_at = case when $6 then $5::timestamptz end,
              next_attempt_at = case when $7 then null else $8::timestamptz end
        where id = $1::text::bigint`,
      [
        String(c.id),
        outcome.status,
        outcome.error?.slice(0, 500) ?? null,
        outcome.ok,
        iso(nowMs),
        !outcome.ok && final,
        final,
        iso(nowMs + backoffMs(attempts)),
      ],
    );
    if (!outcome.ok) {
      log.warn("alert delivery failed", {
        alertId: String(c.alert_id),
        destination: d?.name ?? String(c.destination),
        attempts,
        error: outcome.error,
        final,
      });
    }
  }));
  return report;
}

/** An alerts row as an AlertMessage. */
export function alertOf(r: Record<string, unknown>): AlertMessage {
  const details = typeof r.details === "string" ? JSON.parse(r.details) : r.details ?? null;
  return {
    id: String(r.id),
    kind: String(r.kind),
    flag: (r.flag_key as string | null) ?? null,
    severity: SEVERITIES.includes(r.severity as Severity) ? r.severity as Severity : "warning",
    message: String(r.message),
    details,
    at: new Date(r.at instanceof Date ? r.at : String(r.at)).toISOString(),
  };
}

// ---------------------------------------------------------------- without the database

interface PendingDelivery {
  destination: Destination;
  attempts: number;
  last: Attempt | null;
  deliveredAt: number | null;
}

interface Pending {
  alert: AlertMessage;
  deliveries: PendingDelivery[];
  work: Promise<void>;
}

const pending: Pending[] = [];
const RETRIES_MS = [1_000, 5_000];

const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    Deno.unrefTimer(t);
  });

/** Raises `a` without the database: delivered from memory, stored later (see the module docs). */
export function raiseWithoutDb(a: Omit<AlertInput, "dedupMs">, nowMs = Date.now()): AlertMessage {
  const uid = crypto.randomUUID();
  const alert: AlertMessage = {
    id: `mem-${uid}`,
    kind: a.kind,
    flag: a.flag,
    severity: a.severity,
    message: a.message.slice(0, 2000),
    details: { ...(a.details ?? {}), messageId: `trimtab-alert-${uid}` },
    at: iso(nowMs),
  };
  logLine(alert);
  const deliveries = knownDestinations().filter((d) => receives(d, alert)).map((destination) => ({
    destination,
    attempts: 0,
    last: null,
    deliveredAt: null,
  } as PendingDelivery));
  const attempt = async (p: PendingDelivery) => {
    for (let i = 0; i <= RETRIES_MS.length && p.deliveredAt === null; i++) {
      if (i > 0) await pause(RETRIES_MS[i - 1]);
      p.attempts++;
      p.last = await send(p.destination, alert, Date.now());
      if (p.last.ok) p.deliveredAt = Date.now();
    }
  };
  const work = Promise.all(deliveries.map(attempt)).then(() => {});
  pending.push({ alert, deliveries, work });
  return alert;
}

/** Alerts raised without the database and not stored yet (for health and tests). */
export function pendingAlerts(): { alert: AlertMessage; delivered: number; destinations: number }[] {
  return pending.map((p) => ({
    alert: p.alert,
    delivered: p.deliveries.filter((d) => d.deliveredAt !== null).length,
    destinations: p.deliveries.length,
  }));
}

/** Resolves when the in-memory attempts of the pending alerts are over (tests). */
export async function pendingSettled(): Promise<void> {
  await Promise.all(pending.map((p) => p.work));
}

/** Stores the alerts raised without the database, with their deliveries as they went; the
 *  undelivered ones join the outbox. Returns how many were stored. */
export async function flushPending(db: Db, nowMs = Date.now()): Promise<number> {
  let stored = 0;
  while (pending.length > 0) {
    const p = pending[0];
    await p.work;
    await db.tx(async (tx) => {
      const a = p.alert;
      const [row] = await tx.query<{ id: unknown }>(
        `insert into trimtab.alerts (at, kind, flag_key, severity, message, details)
         values ($1::timestamptz, $2, $3, $4, $5, $6::text::jsonb) returning id`,
        [a.at, a.kind, a.flag, a.severity, a.message, JSON.stringify({ ...a.details, storedLate: true })],
      );
      for (const d of p.deliveries) {
        const done = d.deliveredAt !== null;
        await tx.query(
          `insert into trimtab.alert_deliveries (alert_id, destination, destination_name, attempts, next_attempt_at,
             last_attempt_at, last_status, last_error, delivered_at)
           values ($1::text::bigint, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7, $8, $9::timestamptz)
           on conflict do nothing`,
          [
            String(row.id),
            d.destination.id,
            d.destination.name,
            d.attempts,
            done ? null : iso(nowMs),
            d.attempts > 0 ? iso(nowMs) : null,
            d.last?.status ?? null,
            d.last?.error?.slice(0, 500) ?? null,
            done ? iso(d.deliveredAt!) : null,
          ],
        );
      }
    });
    pending.shift();
    stored++;
  }
  return stored;
}
