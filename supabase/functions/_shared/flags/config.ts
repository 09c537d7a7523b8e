// The per-isolate flag configuration cache.
//
// Every request asks `currentConfig()`. Within TTL (TRIMTAB_CONFIG_TTL_MS, default 1000 ms) of the
// last confirmation it answers from memory. After that, the request waits for one cheap query,
// `select version from flag_config_version` (one query per isolate at a time, however many requests
// wait), and the full snapshot is read only when that version moved. A change is therefore served
// by every isolate within TTL plus one query, and an admin change made through this isolate is seen
// at once (`invalidate()`).
//
// When the database cannot be reached (or answers slower than TRIMTAB_DB_TIMEOUT_MS, default
// 1500 ms), the last known good snapshot keeps serving, marked stale, and the database is asked
// again at most every RETRY_MS. A snapshot the engine refuses is never installed: the previous one
// stays. With no snapshot at all yet, callers get 503 SNAPSHOT_UNAVAILABLE.
//
// "Flag service down": once the database has failed for TRIMTAB_STALE_ALERT_MS (default 60 s) in
// a row (serving stale, or nothing at all), a critical `flag_service_down` alert is raised once per
// outage, delivered from memory to the destinations this isolate knows (platform/alerts.ts: the
// environment's, and the table's as last read: they are re-read every 5 minutes while the
// database answers) and stored when the database answers again, followed by an info
// `flag_service_recovered` alert.
import { loadSnapshot, type Snapshot, type SnapshotFlag, type SnapshotOverride } from "./snapshot.ts";
import { deliverDue, destinations, flushPending, raiseAlert, raiseWithoutDb } from "../platform/alerts.ts";
import { envNonNegative, envPositive } from "../platform/env.ts";
import { HttpError } from "../platform/http.ts";
import { log } from "../platform/log.ts";
import { getDb, onDbChange } from "../platform/store.ts";
import { FlagEngine } from "../platform/trimtab.ts";

/** One loaded configuration version. */
export interface Config {
  readonly version: string;
  readonly snapshot: Snapshot;
  readonly engine: FlagEngine;
  readonly keys: ReadonlySet<string>;
  /** Client-visible flags whose prerequisites are client-visible too (the browser snapshot, and
   *  all an anonymous caller may see). */
  readonly clientFlags: SnapshotFlag[];
  /** Their keys. */
  readonly clientKeys: ReadonlySet<string>;
  /** Overrides of client flags, by unit. */
  readonly clientOverrides: ReadonlyMap<string, SnapshotOverride[]>;
  /** Date.now() when this version was read. */
  readonly loadedAt: number;
}

/** What a request sees. */
export interface ConfigView {
  readonly config: Config;
  /** True when the last attempt to reach the database failed: this is the last known good. */
  readonly stale: boolean;
  /** Milliseconds since the database last confirmed this version current. */
  readonly ageMs: number;
}

/** For `health`: the cache's state without touching the database. */
export interface ConfigStatus {
  version: string | null;
  flags: number;
  stale: boolean;
  ageMs: number | null;
  lastError: string | null;
}

const TTL_MS = envNonNegative("TRIMTAB_CONFIG_TTL_MS");
const TIMEOUT_MS = envNonNegative("TRIMTAB_DB_TIMEOUT_MS");
const RETRY_MS = 500;
/** An engine replaced by a newer version is freed this long after (requests may still hold it). */
const FREE_AFTER_MS = 10_000;

let config: Config | null = null;
let checkedAt = 0;
let failedAt = 0;
let lastError: string | null = null;
let inflight: Promise<void> | null = null;
let epoch = 0;
let reportedStale = false;

/** What the cache tells subscribers: a new version was installed, or staleness changed. */
export type ConfigEvent =
  | { type: "changed"; version: string; previous: string | null; flagsChanged: string[] }
  | { type: "stale"; stale: boolean };
const listeners = new Set<(e: ConfigEvent) => void>();

/** Subscribes to the cache's events (the OpenFeature server provider); returns the unsubscribe. */
export function onConfigEvent(fn: (e: ConfigEvent) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify(e: ConfigEvent): void {
  for (const fn of [...listeners]) {
    try {
      fn(e);
    } catch (err) {
      log.warn("config event listener failed", { err });
    }
  }
}

function reportStale(): void {
  const stale = config !== null && failedAt > checkedAt;
  if (stale === reportedStale) return;
  reportedStale = stale;
  notify({ type: "stale", stale });
}

/** Keys whose definition or overrides differ between two snapshots (added and removed too). */
export function flagsChanged(a: Snapshot | null, b: Snapshot): string[] {
  const defs = (s: Snapshot | null) => {
    const m = new Map<string, string>();
    for (const f of s?.flags ?? []) m.set(f.key, JSON.stringify(f));
    for (const o of s?.overrides ?? []) m.set(o.flag, `${m.get(o.flag) ?? ""}|${JSON.stringify(o)}`);
    return m;
  };
  const x = defs(a), y = defs(b);
  return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k)).sort();
}

/** When the database started failing (null while it answers), and whether that outage alerted. */
let downSince: number | null = null;
let downAlerted = false;
let destinationsReadAt = 0;
const DESTINATIONS_EVERY_MS = 300_000;

onDbChange(reset);

/** Forgets everything (tests; a new database handle). */
export function reset(): void {
  config = null;
  checkedAt = failedAt = 0;
  lastError = null;
  inflight = null;
  reportedStale = false;
  epoch++;
  downSince = null;
  downAlerted = false;
  destinationsReadAt = 0;
}

/** Makes the next request check the database (after a change made in this isolate). */
export function invalidate(): void {
  checkedAt = 0;
  failedAt = 0;
}

/** The configuration to serve now; throws 503 SNAPSHOT_UNAVAILABLE when there has never been one. */
export async function currentConfig(): Promise<ConfigView> {
  const now = Date.now();
  if (now - checkedAt >= TTL_MS && now - failedAt >= RETRY_MS) await refresh();
  if (!config) {
    throw new HttpError(
      503,
      "SNAPSHOT_UNAVAILABLE",
      "flag configuration is unavailable: the database cannot be reached",
      {
        "retry-after": "1",
      },
    );
  }
  return { config, stale: failedAt > checkedAt, ageMs: Math.max(0, Date.now() - checkedAt) };
}

/** The cache's state, for health checks. */
export function configStatus(): ConfigStatus {
  return {
    version: config?.version ?? null,
    flags: config?.snapshot.flags.length ?? 0,
    stale: config !== null && failedAt > checkedAt,
    ageMs: config ? Math.max(0, Date.now() - checkedAt) : null,
    lastError,
  };
}

/** Standard response headers describing the snapshot served. */
export function configHeaders(view: ConfigView): Record<string, string> {
  return {
    "x-trimtab-version": view.config.version,
    "x-trimtab-stale": String(view.stale),
    "x-trimtab-snapshot-age": String(Math.round(view.ageMs)),
  };
}

function refresh(): Promise<void> {
  if (inflight) return inflight;
  const p = attempt(epoch).finally(() => {
    if (inflight === p) inflight = null;
  });
  inflight = p;
  return p;
}

async function attempt(mine: number): Promise<void> {
  try {
    await withTimeout(check(mine), TIMEOUT_MS);
    if (mine !== epoch) return;
    checkedAt = Date.now();
    lastError = null;
    reportStale();
    if (downAlerted) recovered(Date.now() - (downSince ?? Date.now()));
    downSince = null;
    downAlerted = false;
  } catch (e) {
    if (mine !== epoch) return;
    failedAt = Date.now();
    const code = errorCode(e);
    if (lastError !== code) log.warn("flag config refresh failed; serving the last known good snapshot", { code });
    lastError = code;
    reportStale();
    downSince ??= failedAt;
    if (!downAlerted && failedAt - downSince >= envPositive("TRIMTAB_STALE_ALERT_MS")) {
      downAlerted = true;
      const seconds = Math.round((failedAt - downSince) / 1000);
      raiseWithoutDb({
        kind: "flag_service_down",
        flag: null,
        severity: "critical",
        message: config
          ? `flag service down: the database has not answered for ${seconds} s; serving the stale snapshot ${config.version}`
          : `flag service down: the database has not answered for ${seconds} s and no snapshot was ever loaded`,
        details: { downForMs: failedAt - downSince, error: code, version: config?.version ?? null },
      });
    }
  }
}

/** Stores what was raised without the database and says the outage is over (in the background). */
function recovered(downForMs: number): void {
  getDb().then(async (db) => {
    await flushPending(db);
    await raiseAlert(db, {
      kind: "flag_service_recovered",
      flag: null,
      severity: "info",
      message: `flag service recovered: the database answers again after ${Math.round(downForMs / 1000)} s`,
      details: { downForMs },
      dedupMs: 0,
    });
    await deliverDue(db);
  }).catch((e) => log.warn("alerts raised during the outage not stored yet", { code: errorCode(e) }));
}

async function check(mine: number): Promise<void> {
  const db = await getDb();
  if (Date.now() - destinationsReadAt >= DESTINATIONS_EVERY_MS) {
    destinationsReadAt = Date.now();
    destinations(db).catch(() => {}); // remembered for alerts while the database is down
  }
  const [row] = await db.query<{ version: unknown }>("select version from trimtab.flag_config_version where id");
  const version = String(row?.version ?? "0");
  if (config?.version === version) return;
  const snapshot = await loadSnapshot(db, { now: new Date() });
  if (mine !== epoch) return;
  // Versions only grow: a slow read must not replace a newer snapshot.
  if (config && BigInt(snapshot.version) < BigInt(config.version)) return;
  install(build(snapshot));
}

function install(next: Config): void {
  const old = config;
  config = next;
  if (old) setTimeout(() => old.engine.free(), FREE_AFTER_MS);
  if (listeners.size) {
    notify({
      type: "changed",
      version: next.version,
      previous: old?.version ?? null,
      flagsChanged: flagsChanged(old?.snapshot ?? null, next.snapshot),
    });
  }
}

/** Compiles a snapshot into a Config (throws the engine's INVALID_SNAPSHOT). */
export function build(snapshot: Snapshot): Config {
  const engine = new FlagEngine(snapshot);
  const clientFlags = closedClientFlags(snapshot.flags);
  const clientKeys = new Set(clientFlags.map((f) => f.key));
  const clientOverrides = new Map<string, SnapshotOverride[]>();
  for (const o of snapshot.overrides) {
    if (!clientKeys.has(o.flag)) continue;
    const list = clientOverrides.get(o.unit);
    if (list) list.push(o);
    else clientOverrides.set(o.unit, [o]);
  }
  return {
    version: snapshot.version,
    snapshot,
    engine,
    keys: new Set(snapshot.flags.map((f) => f.key)),
    clientFlags,
    clientKeys,
    clientOverrides,
    loadedAt: Date.now(),
  };
}

/** Client-visible flags, minus any whose prerequisites (transitively) are not client-visible:
 *  the browser could not evaluate those, and must not learn hidden flags. */
export function closedClientFlags(flags: SnapshotFlag[]): SnapshotFlag[] {
  let kept = flags.filter((f) => f.clientVisible);
  for (;;) {
    const keys = new Set(kept.map((f) => f.key));
    const next = kept.filter((f) =>
      (f.prerequisites ?? []).every((p) => keys.has(String((p as { flag?: unknown }).flag)))
    );
    if (next.length === kept.length) break;
    for (const f of kept) {
      if (!next.includes(f)) log.warn("client flag hidden: a prerequisite is not client-visible", { key: f.key });
    }
    kept = next;
  }
  return kept;
}

/** The browser snapshot for `unit` (its own unexpired overrides only). */
export function clientSnapshot(c: Config, unit: string | undefined, now = Date.now()): Snapshot {
  const own = unit === undefined ? [] : (c.clientOverrides.get(unit) ?? []);
  const overrides = own.filter((o) => !o.expiresAt || Date.parse(o.expiresAt) > now);
  return { version: c.version, flags: c.clientFlags, overrides };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("database timeout"), { code: "DB_TIMEOUT" })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function errorCode(e: unknown): string {
  const c = (e as { code?: unknown })?.code;
  if (typeof c === "string" && /^[A-Z0-9_]{2,40}$/.test(c)) return c;
  if ((e as { name?: string })?.name === "TrimtabError") return "INVALID_SNAPSHOT";
  return "DB_UNAVAILABLE";
}
