// `rollout-status` (the plans' feature-status endpoint): admin JWT or service role
// (verify_jwt = true; 401 without a valid token, 403 for anyone else).
//   GET /rollout-status[?flag=<KEY>]  -> 200 { at, windowMs, flags: [{ key, enabled, adminOverride,
//        ramping, stage: { index, total } | null, rollout, stages, autoRamp,
//        old: { calls, successRate, errorRate, p50Ms, p95Ms, fallbacks, costPerConversation },
//        new: { ... }, lastDecision: { action, reasons, at, fromRollout, toRollout } | null }] }
// Metrics: ai_usage_logs over the guard's window (TRIMTAB_GUARD_WINDOW_MS, default 15 min), never
// before the stage was entered (_shared/usage.ts, shadow rows excluded). `stage.index` is the
// 0-based position of the current rollout in the flag's stages (the last stage not above it; -1
// below the first). An unknown ?flag= is 404 UNKNOWN_FLAG. Each flag also carries `migration`
// (success rate, adoption, performance gain, gates: _shared/safety/migration_metrics.ts).
//   GET /rollout-status/readiness?flag=<KEY> -> 200 { flag, ready, reasons: [{ code, message }], ... }
//   GET /rollout-status/deprecations[?route=] -> 200 { callers: [...] } (deprecated endpoints' callers)
import { requireAdmin } from "../_shared/platform/auth.ts";
import { allowMethods, handle, HttpError, serve } from "../_shared/platform/http.ts";
import { deprecationsStatus, readinessStatus, rolloutStatus } from "../_shared/safety/rollout_status.ts";

const handler = handle(async (req) => {
  const bad = allowMethods(req, ["GET"]);
  if (bad) return bad;
  const url = new URL(req.url);
  const m = /^\/rollout-status(?:\/(readiness|deprecations))?\/?$/.exec(url.pathname);
  if (!m) throw new HttpError(404, "NOT_FOUND", "no such route");
  await requireAdmin(req);
  if (m[1] === "readiness") return readinessStatus(url);
  return m[1] === "deprecations" ? deprecationsStatus(url) : rolloutStatus(url);
}, { name: "rollout-status", cors: "admin" });

export default handler;
serve(handler);
