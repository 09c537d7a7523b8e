// `ai-cache`: the agent's response cache, for admins and the service role (verify_jwt = true;
// 401 without a valid token, 403 for anyone else).
//   GET    /ai-cache[?window=<ms>]  -> 200 { isolate: { hits, misses, hitRate, frontHits, tableHits,
//                                       puts, errors, entries }, table: { rows, live, hits },
//                                       usage: { since, calls, cached, hitRate } }
//        (usage: every isolate's served llm calls from ai_usage_logs over the window, default 1 h)
//   DELETE /ai-cache?flag=<KEY>     -> 200 { ok: true, removed, flag }   (entries tagged with KEY)
//   DELETE /ai-cache?all=1          -> 200 { ok: true, removed, all: true }
// A DELETE with neither is 400 MISSING_SCOPE. The logic is in _shared/safety/cache_admin.ts.
import { requireAdmin } from "../_shared/platform/auth.ts";
import { allowMethods, handle, HttpError, serve } from "../_shared/platform/http.ts";
import { cacheClear, cacheReport } from "../_shared/safety/cache_admin.ts";

const handler = handle(async (req, ctx) => {
  const bad = allowMethods(req, ["GET", "DELETE"]);
  if (bad) return bad;
  const url = new URL(req.url);
  if (!/^\/ai-cache\/?$/.test(url.pathname)) throw new HttpError(404, "NOT_FOUND", "no such route");
  const caller = await requireAdmin(req);
  return req.method === "DELETE" ? cacheClear(url, caller, ctx.log) : cacheReport(url);
}, { name: "ai-cache", cors: "admin" });

export default handler;
serve(handler);
