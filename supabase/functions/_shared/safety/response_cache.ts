// The read-through response cache of the agent's llm pipeline (USE_RESPONSE_CACHE).
//
// Entries are keyed by the core's stable prompt cache key (promptCacheKey of the request body: no
// phone number is ever in it) and live in trimtab.response_cache (key pk, flag_key, response jsonb,
// created_at, expires_at, hits), shared by every isolate. In front of the table each isolate keeps
// a bounded Map (AGENT_CACHE_FRONT_MAX, default 500 entries, least recently used evicted) whose
// entries are trusted for at most AGENT_CACHE_FRONT_TTL_MS (default 30 s) and never past the row's
// expiry.
//
// Epochs: every entry carries its flag's epoch (trimtab.response_cache_epochs) from when its
// request began. A rollback of the flag (migration 20261205000001: any adminOverride 'off', flag
// disabled or deleted) and cacheInvalidate delete the flag's rows and move its epoch in the same
// transaction; a row of an older epoch is never read, a put whose epoch moved while the model was
// answering is dropped, and each isolate re-reads the epochs whenever the flag configuration's
// version changes (a rollback moves it: seen within TRIMTAB_CONFIG_TTL_MS) or its front's trust
// time has passed (an invalidation through ai-cache), dropping its copies of older epochs. So no
// isolate serves a rolled-back flag's cached answer again, and a re-enabled flag starts cold.
//
//   cacheGet(db, key, flag)                -> { hit: true, response } | { hit: false, epoch }
//   cachePut(db, key, flag, response, epoch)  TTL AGENT_CACHE_TTL_MS (default 10 min)
//   cacheInvalidate(db, { flag } | { all }) -> rows removed (epochs moved; this isolate's front too)
//   cacheStats()                           -> this isolate's hits, misses, hit rate, front size
//   cacheTableStats(db)                    -> rows, live rows, hits recorded in the table
// None of them throws on a database failure (a failed read is a miss, a failed write is logged);
// cacheInvalidate and cacheTableStats do (the admin endpoint reports them).
import { currentConfig } from "../flags/config.ts";
import type { Queryable } from "../platform/db.ts";
import { envPositive } from "../platform/env.ts";
import { log } from "../platform/log.ts";
import { onDbChange } from "../platform/store.ts";

interface FrontEntry {
  response: unknown;
  flagKey: string;
  epoch: number;
  expiresAt: number;
  trustUntil: number;
}

/** A read: the response, or a miss with the flag's epoch (what cachePut needs). */
export type CacheRead = { hit: true; response: unknown } | { hit: false; epoch: number };

export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 when nothing was asked. */
  hitRate: number;
  /** Hits answered by this isolate's front without a query. */
  frontHits: number;
  /** Hits read from the table. */
  tableHits: number;
  puts: number;
  /** Database failures (reads count as misses). */
  errors: number;
  /** Entries in this isolate's front. */
  entries: number;
}

const front = new Map<string, FrontEntry>();
const counters = { hits: 0, misses: 0, frontHits: 0, tableHits: 0, puts: 0, errors: 0 };
/** The epochs this isolate knows, the config version they were read at, and when. */
const epochs = new Map<string, number>();
let epochsVersion: string | null = null;
let epochsReadAt = 0;

/** Forgets this isolate's front and counters (tests; a new database handle). */
export function resetResponseCache(): void {
  front.clear();
  epochs.clear();
  epochsVersion = null;
  epochsReadAt = 0;
  for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = 0;
}

/** Re-reads the epochs when the config version moved or the trust time passed, and drops the
 *  front's entries of older epochs. A failure empties the front (it cannot be trusted). */
async function syncEpochs(db: Queryable, now: number): Promise<void> {
  let version: string | null = null;
  try {
    version = (await currentConfig()).config.version;
  } catch { /* no configuration: fall back to the trust time */ }
  if (version === epochsVersion && now - epochsReadAt < envPositive("AGENT_CACHE_FRONT_TTL_MS")) return;
  try {
    const rows = await db.query<{ flag_key: string; epoch: unknown }>(
      "select flag_key, epoch from trimtab.response_cache_epochs",
    );
    epochs.clear();
    for (const r of rows) epochs.set(r.flag_key, Number(r.epoch));
    epochsVersion = version;
    epochsReadAt = now;
    for (const [k, e] of [...front]) if (e.epoch !== (epochs.get(e.flagKey) ?? 0)) front.delete(k);
  } catch {
    front.clear();
  }
}
onDbChange(resetResponseCache);

export function cacheTtlMs(): number {
  return envPositive("AGENT_CACHE_TTL_MS");
}

function remember(key: string, e: FrontEntry): void {
  front.delete(key);
  front.set(key, e);
  const max = Math.floor(envPositive("AGENT_CACHE_FRONT_MAX", { integer: true }));
  while (front.size > max) front.delete(front.keys().next().value!);
}

const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : Date.parse(String(v)));

function parsed(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** The cached response for `key` written under `flag` (of its current epoch), or a miss with
 *  the flag's epoch. Never throws (a failed read is a miss of epoch -1: nothing will be stored). */
export async function cacheGet(db: Queryable, key: string, flag: string): Promise<CacheRead> {
  const now = Date.now();
  await syncEpochs(db, now);
  const f = front.get(key);
  if (f && f.flagKey === flag && f.trustUntil > now && f.expiresAt > now) {
    remember(key, f);
    counters.hits++;
    counters.frontHits++;
    db.query("update trimtab.response_cache set hits = hits + 1 where key = $1", [key]).catch(() => {});
    return { hit: true, response: f.response };
  }
  if (f) front.delete(key);
  try {
    const [row] = await db.query<{ epoch: unknown; response: unknown; expires_at: unknown }>(
      `with e as (select coalesce(max(epoch), 0) as epoch from trimtab.response_cache_epochs where flag_key = $2),
            hit as (update trimtab.response_cache c set hits = c.hits + 1 from e
                     where c.key = $1 and c.flag_key = $2 and c.expires_at > now() and c.epoch = e.epoch
                     returning c.response, c.expires_at)
       select e.epoch, hit.response, hit.expires_at from e left join hit on true`,
      [key, flag],
    );
    const epoch = Number(row?.epoch ?? 0);
    if (!row || row.expires_at === null || row.expires_at === undefined) {
      counters.misses++;
      return { hit: false, epoch };
    }
    const response = parsed(row.response);
    const expiresAt = ms(row.expires_at);
    const trust = envPositive("AGENT_CACHE_FRONT_TTL_MS");
    remember(key, { response, flagKey: flag, epoch, expiresAt, trustUntil: Math.min(expiresAt, now + trust) });
    counters.hits++;
    counters.tableHits++;
    return { hit: true, response };
  } catch (e) {
    counters.misses++;
    counters.errors++;
    log.warn("response cache read failed", { code: (e as { code?: unknown })?.code });
    return { hit: false, epoch: -1 };
  }
}

/** Stores `response` (JSON) under `key` for `ttlMs`, unless `flag`'s epoch moved since `epoch`
 *  was read (a rollback while the model answered). Never throws. */
export async function cachePut(
  db: Queryable,
  key: string,
  flag: string,
  response: unknown,
  epoch: number,
  ttlMs: number = cacheTtlMs(),
): Promise<void> {
  if (epoch < 0) return;
  const now = Date.now();
  const expiresAt = now + ttlMs;
  try {
    const rows = await db.query(
      `insert into trimtab.response_cache (key, flag_key, response, created_at, expires_at, hits, epoch)
       select $1, $2, $3::text::jsonb, now(), $4, 0, $5
        where coalesce((select epoch from trimtab.response_cache_epochs where flag_key = $2), 0) = $5
       on conflict (key) do update set flag_key = excluded.flag_key, response = excluded.response,
         created_at = excluded.created_at, expires_at = excluded.expires_at, hits = 0, epoch = excluded.epoch
       returning key`,
      [key, flag, JSON.stringify(response), new Date(expiresAt), epoch],
    );
    if (rows.length === 0) return; // the flag was rolled back meanwhile
    counters.puts++;
    const trust = envPositive("AGENT_CACHE_FRONT_TTL_MS");
    remember(key, { response, flagKey: flag, epoch, expiresAt, trustUntil: Math.min(expiresAt, now + trust) });
  } catch (e) {
    counters.errors++;
    log.warn("response cache write failed", { code: (e as { code?: unknown })?.code });
  }
}

/** Removes the entries of one flag, or all of them; returns how many rows went. */
export async function cacheInvalidate(db: Queryable, what: { flag: string } | { all: true }): Promise<number> {
  const [row] = "all" in what
    ? await db.query<{ n: unknown }>(
      `select coalesce(sum(trimtab.invalidate_response_cache(f)), 0) as n
         from (select distinct flag_key as f from trimtab.response_cache where flag_key is not null
               union select flag_key from trimtab.response_cache_epochs) x`,
    )
    : await db.query<{ n: unknown }>("select trimtab.invalidate_response_cache($1) as n", [what.flag]);
  for (const [k, e] of [...front]) if ("all" in what || e.flagKey === what.flag) front.delete(k);
  epochsReadAt = 0; // re-read on the next get
  return Number(row?.n ?? 0);
}

/** This isolate's counters. */
export function cacheStats(): CacheStats {
  const asked = counters.hits + counters.misses;
  return { ...counters, hitRate: asked ? counters.hits / asked : 0, entries: front.size };
}

/** What the table holds (all isolates). */
export async function cacheTableStats(db: Queryable): Promise<{ rows: number; live: number; hits: number }> {
  const [r] = await db.query<{ rows: unknown; live: unknown; hits: unknown }>(
    "select count(*) as rows, count(*) filter (where expires_at > now()) as live, coalesce(sum(hits), 0) as hits from trimtab.response_cache",
  );
  return { rows: Number(r?.rows ?? 0), live: Number(r?.live ?? 0), hits: Number(r?.hits ?? 0) };
}

/** Across isolates, from ai_usage_logs since `sinceMs`: the new pipeline's served calls (shadow
 *  calls excluded), how many came from the cache, and that share. */
export async function cacheUsageStats(
  db: Queryable,
  sinceMs: number,
): Promise<{ since: string; calls: number; cached: number; hitRate: number }> {
  const since = new Date(sinceMs).toISOString();
  const [r] = await db.query<{ calls: unknown; cached: unknown }>(
    `select count(*) as calls, count(*) filter (where cached) as cached from trimtab.ai_usage_logs
      where pipeline = 'new' and not shadow and at >= $1::timestamptz`,
    [since],
  );
  const calls = Number(r?.calls ?? 0), cached = Number(r?.cached ?? 0);
  return { since, calls, cached, hitRate: calls ? cached / calls : 0 };
}
