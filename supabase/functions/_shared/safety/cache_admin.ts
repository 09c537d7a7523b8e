//! The `ai-cache` function's answers (its index.ts routes here): GET reports the response cache
//! (this isolate, the table, and every isolate's served calls from ai_usage_logs over `?window=`
//! ms, default 1 h); DELETE invalidates `?flag=KEY` or `?all=1` (400 MISSING_SCOPE otherwise).
import type { Caller } from "../platform/auth.ts";
import { HttpError, json } from "../platform/http.ts";
import type { Logger } from "../platform/log.ts";
import { getDb } from "../platform/store.ts";
import { cacheInvalidate, cacheStats, cacheTableStats, cacheUsageStats } from "./response_cache.ts";

const FLAG_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

/** GET /ai-cache. */
export async function cacheReport(url: URL): Promise<Response> {
  const db = await getDb();
  const w = Number(url.searchParams.get("window") ?? 3_600_000);
  if (!Number.isSafeInteger(w) || w <= 0) {
    throw new HttpError(400, "INVALID_WINDOW", "window must be a positive number of milliseconds");
  }
  return json(200, {
    isolate: cacheStats(),
    table: await cacheTableStats(db),
    usage: await cacheUsageStats(db, Date.now() - w),
  });
}

/** DELETE /ai-cache. */
export async function cacheClear(url: URL, caller: Caller, log: Logger): Promise<Response> {
  const db = await getDb();
  const flag = url.searchParams.get("flag");
  const all = url.searchParams.get("all");
  if (all === "1" || all === "true") {
    const removed = await cacheInvalidate(db, { all: true });
    log.info("response cache invalidated", { all: true, removed, actor: caller.actor });
    return json(200, { ok: true, removed, all: true });
  }
  if (flag !== null) {
    if (!FLAG_KEY.test(flag)) throw new HttpError(400, "INVALID_KEY", "flag must be a flag key");
    const removed = await cacheInvalidate(db, { flag });
    log.info("response cache invalidated", { flag, removed, actor: caller.actor });
    return json(200, { ok: true, removed, flag });
  }
  throw new HttpError(400, "MISSING_SCOPE", "say ?flag=<KEY> or ?all=1");
}
