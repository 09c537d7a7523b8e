// `flags-admin`: the admin API (admin JWT or service role). HTTP routing only; the logic, auth,
// validation and transactions live in _shared/admin.ts.
//   GET|POST               /flags-admin/flags
//   GET|PATCH|DELETE       /flags-admin/flags/<key>
//   POST                   /flags-admin/rollback
//   GET|PUT|DELETE         /flags-admin/overrides
//   GET                    /flags-admin/audit
//   POST                   /flags-admin/guard      (runs the guard now; _shared/safety/guard.ts)
//   GET, PATCH, POST       /flags-admin/alerts[/<id>[/ack]]            (_shared/safety/alerts_admin.ts)
//   GET|POST|PATCH|DELETE  /flags-admin/alert-destinations[/<id>[/test]]
// A PATCH to full exposure passes the cutover gate installed here (_shared/safety/cutover.ts).
import {
  auditLog,
  createFlag,
  deleteFlag,
  deleteOverride,
  getFlag,
  listFlags,
  listOverrides,
  patchFlag,
  putOverride,
  rollback,
} from "../_shared/flags/admin.ts";
import { requireAdmin } from "../_shared/platform/auth.ts";
import { setRampGate } from "../_shared/flags/admin_gate.ts";
import { routeAlerts } from "../_shared/safety/alerts_admin.ts";
import { rampGate } from "../_shared/safety/cutover.ts";
import { runGuard } from "../_shared/safety/guard.ts";
import { allowMethods, handle, HttpError, json, serve } from "../_shared/platform/http.ts";
import { getDb } from "../_shared/platform/store.ts";

const notFound = () => new HttpError(404, "NOT_FOUND", "no such route");
setRampGate(rampGate);

function decodeKey(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "INVALID_KEY", "flag key is not valid URL encoding");
  }
}

const handler = handle(async (req) => {
  const path = new URL(req.url).pathname.replace(/\/+$/, "");
  const m = /^\/flags-admin(\/.*)?$/.exec(path);
  if (!m) throw notFound();
  const parts = (m[1] ?? "").split("/").filter(Boolean);
  const method = req.method === "HEAD" ? "GET" : req.method;
  const route = (methods: string[]) => allowMethods(req, methods);

  if (parts.length === 1 && parts[0] === "flags") {
    const bad = route(["GET", "POST"]);
    if (bad) return bad;
    const caller = await requireAdmin(req);
    return method === "GET" ? listFlags(caller) : createFlag(req, caller);
  }
  if (parts.length === 2 && parts[0] === "flags") {
    const bad = route(["GET", "PATCH", "DELETE"]);
    if (bad) return bad;
    const caller = await requireAdmin(req);
    const key = decodeKey(parts[1]);
    if (method === "GET") return getFlag(caller, key);
    return method === "PATCH" ? patchFlag(req, caller, key) : deleteFlag(req, caller, key);
  }
  if (parts.length === 1 && parts[0] === "rollback") {
    const bad = route(["POST"]);
    if (bad) return bad;
    return rollback(req, await requireAdmin(req));
  }
  if (parts.length === 1 && parts[0] === "overrides") {
    const bad = route(["GET", "PUT", "DELETE"]);
    if (bad) return bad;
    const caller = await requireAdmin(req);
    if (method === "GET") return listOverrides(req, caller);
    return method === "PUT" ? putOverride(req, caller) : deleteOverride(req, caller);
  }
  if (parts.length === 1 && parts[0] === "audit") {
    const bad = route(["GET"]);
    if (bad) return bad;
    return auditLog(req, await requireAdmin(req));
  }
  if (parts.length === 1 && parts[0] === "guard") {
    const bad = route(["POST"]);
    if (bad) return bad;
    await requireAdmin(req);
    return json(200, await runGuard(await getDb()));
  }
  const alerts = await routeAlerts(req, parts);
  if (alerts) return alerts;
  throw notFound();
}, { name: "flags-admin", cors: "admin" });

export default handler;
serve(handler);
