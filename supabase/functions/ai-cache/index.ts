// `ai-cache`: the agent's response cache, for admins and the service role (verify_jwt = true;
// 401 without a valid token, 403 for anyone else).
//   GET    /ai-cache[?window=<ms>]  -> 200 { isolate: { hits, misses, hitRate, frontHits, tableHits,
//                                       puts, errors, entries }, table: { rows, live, hits },
//                                       usage: { since, calls, cached, hitRate } }
//        (usage: every isolate's served llm calls from ai_usage_logs over the window, default 1 h)
//   DELETE /ai-cache?flag=<KEY>     -> 200 { ok: true, removed, flag }   (entries tagged with KEY)
//   DELETE /ai-cache?all=1          -> 200 { ok: true, removed, all: true }
// A DELETE with neither is 400 MISSING_SCOPE. The logic is in _shared/response_cache.ts.
import { requireAdmin } from "../_shared/flags/admin.ts";
import { allowMethods, handle, HttpError, json, serve } from "../_shared/platform/http.ts";
import { cacheInvalidate, cacheStats, cacheTableStats, cacheUsageStats } from "../_shared/safety/response_cache.ts";
import { getDb } from "../_shared/platform/store.ts";

const FLAG_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

const handler = handle(async (req, ctx) => {
  const bad = allowMethods(req, ["GET", "DELETE"]);
  if (bad) return bad;
  const url = new URL(req.url);
  if (!/^\/ai-cache\/?$/.test(url.pathname)) throw new HttpError(404, "NOT_FOUND", "no such route");
  const caller = await requireAdmin(req);
  const db = await getDb();
  if (req.method !== "DELETE") {
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
  const flag = url.searchParams.get("flag");
  const all = url.searchParams.get("all");
  if (all === "1" || all === "true") {
    const removed = await cacheInvalidate(db, { all: true });
    ctx.log.info("response cache invalidated", { all: true, removed, actor: caller.actor });
    return json(200, { ok: true, removed, all: true });
  }
  if (flag !== null) {
    if (!FLAG_KEY.test(flag)) throw new HttpError(400, "INVALID_KEY", "flag must be a flag key");
    const removed = await cacheInvalidate(db, { flag });
    ctx.log.info("response cache invalidated", { flag, removed, actor: caller.actor });
    return json(200, { ok: true, removed, flag });
  }
  throw new HttpError(400, "MISSING_SCOPE", "say ?flag=<KEY> or ?all=1");
}, { name: "ai-cache" });

export default handler;
serve(handler);
