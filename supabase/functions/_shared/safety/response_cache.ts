// The read-through response cache of the agent's llm pipeline (USE_RESPONSE_CACHE).
//
// Entries are keyed by the core's stable prompt cache key (promptCacheKey of the request body: no
// phone number is ever in it) and live in trimtab.response_cache (key pk, flag_key, response jsonb,
// created_at, expires_at, hits), shared by every isolate. In front of the table each isolate keeps
// a bounded Map (AGENT_CACHE_FRONT_MAX, default 500 entries, least recently used evicted) whose
// entries are trusted for at most AGENT_CACHE_FRONT_TTL_MS (default 30 s) and never past the row's
// expiry: an invalidation made through another isolate is therefore seen within that time.
//
//   cacheGet(db, key)                      -> { response } | null   (counts a hit or a miss)
//   cachePut(db, key, flagKey, response)   TTL AGENT_CACHE_TTL_MS (default 10 min)
//   cacheInvalidate(db, { flag } | { all }) -> rows removed (and the front of this isolate)
//   cacheStats()                           -> this isolate's hits, misses, hit rate, front size
//   cacheTableStats(db)                    -> rows, live rows, hits recorded in the table
// None of them throws on a database failure (a failed read is a miss, a failed write is logged);
// cacheInvalidate and cacheTableStats do (the admin endpoint reports them).
import type { Queryable } from "../platform/db.ts";
import { envPositive } from "../platform/env.ts";
import { log } from "../platform/log.ts";
import { onDbChange } from "../platform/store.ts";

interface FrontEntry {
  response: unknown;
  flagKey: string;
  expiresAt: number;
  trustUntil: number;
}

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

/** Forgets this isolate's front and counters (tests; a new database handle). */
export function resetResponseCache(): void {
  front.clear();
  for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = 0;
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

/** The cached response for `key`, or null (a miss). Never throws. */
export async function cacheGet(db: Queryable, key: string): Promise<{ response: unknown } | null> {
  const now = Date.now();
  const f = front.get(key);
  if (f && f.trustUntil > now && f.expiresAt > now) {
    remember(key, f);
    counters.hits++;
    counters.frontHits++;
    db.query("update trimtab.response_cache set hits = hits + 1 where key = $1", [key]).catch(() => {});
    return { response: f.response };
  }
  if (f) front.delete(key);
  try {
    const [row] = await db.query<{ response: unknown; flag_key: unknown; expires_at: unknown }>(
      "update trimtab.response_cache set hits = hits + 1 where key = $1 and expires_at > now() returning response, flag_key, expires_at",
      [key],
    );
    if (!row) {
      counters.misses++;
      return null;
    }
    const response = parsed(row.response);
    const expiresAt = ms(row.expires_at);
    const trust = envPositive("AGENT_CACHE_FRONT_TTL_MS");
    remember(key, {
      response,
      flagKey: String(row.flag_key ?? ""),
      expiresAt,
      trustUntil: Math.min(expiresAt, now + trust),
    });
    counters.hits++;
    counters.tableHits++;
    return { response };
  } catch (e) {
    counters.misses++;
    counters.errors++;
    log.warn("response cache read failed", { code: (e as { code?: unknown })?.code });
    return null;
  }
}

/** Stores `response` (JSON) under `key` for `ttlMs`. Never throws. */
export async function cachePut(
  db: Queryable,
  key: string,
  flagKey: string,
  response: unknown,
  ttlMs: number = cacheTtlMs(),
): Promise<void> {
  const now = Date.now();
  const expiresAt = now + ttlMs;
  try {
    await db.query(
      `insert into trimtab.response_cache (key, flag_key, response, created_at, expires_at, hits)
       values ($1, $2, $3::text::jsonb, now(), $4, 0)
       on conflict (key) do update set flag_key = excluded.flag_key, response = excluded.response,
         created_at = excluded.created_at, expires_at = excluded.expires_at, hits = 0`,
      [key, flagKey, JSON.stringify(response), new Date(expiresAt)],
    );
    counters.puts++;
    const trust = envPositive("AGENT_CACHE_FRONT_TTL_MS");
    remember(key, { response, flagKey, expiresAt, trustUntil: Math.min(expiresAt, now + trust) });
  } catch (e) {
    counters.errors++;
    log.warn("response cache write failed", { code: (e as { code?: unknown })?.code });
  }
}

/** Removes the entries of one flag, or all of them; returns how many rows went. */
export async function cacheInvalidate(db: Queryable, what: { flag: string } | { all: true }): Promise<number> {
  const [row] = "all" in what
    ? await db.query<{ n: unknown }>(
      "with d as (delete from trimtab.response_cache returning 1) select count(*) as n from d",
    )
    : await db.query<{ n: unknown }>(
      "with d as (delete from trimtab.response_cache where flag_key = $1 returning 1) select count(*) as n from d",
      [what.flag],
    );
  for (const [k, e] of [...front]) if ("all" in what || e.flagKey === what.flag) front.delete(k);
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
