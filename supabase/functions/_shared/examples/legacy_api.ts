//! The legacy `/api/...` routes of the plans' AI management area, kept answering while clients
//! move (platform/deprecated.ts adds Deprecation, Sunset and Link, logs and counts the callers,
//! and answers 410 Gone from the sunset on). Served by the `api` function
//! (/functions/v1/api/feature-status on Supabase) and, in the local stack, at /api/feature-status.
//!
//!   GET /api/feature-status[?feature=KEY]  -> what GET /rollout-status[?flag=KEY] answers (admin
//!        or service role); successor /functions/v1/rollout-status. Deprecated at
//!        TRIMTAB_LEGACY_FEATURE_STATUS_DEPRECATED_AT, sunset TRIMTAB_LEGACY_FEATURE_STATUS_SUNSET.
import { requireAdmin } from "../platform/auth.ts";
import { deprecatedRoute } from "../platform/deprecated.ts";
import { env, type Setting, type SettingName, SETTINGS } from "../platform/env.ts";
import { allowMethods, type Handler, HttpError } from "../platform/http.ts";
import { log } from "../platform/log.ts";
import { rolloutStatus } from "../safety/rollout_status.ts";

/** A setting's date, or its declared default when it is not one (logged). */
function dateSetting(name: SettingName): string {
  const dflt = (SETTINGS[name] as Setting).default!;
  const v = env(name) ?? dflt;
  if (Number.isFinite(Date.parse(v))) return v;
  log.error("not a date: the default stands in", { setting: name });
  return dflt;
}

/** The legacy feature-status answer: rollout-status, with the old query name (`feature`). */
const featureStatus: Handler = async (req) => {
  const refused = allowMethods(req, ["GET"]);
  if (refused) return refused;
  await requireAdmin(req);
  const url = new URL(req.url);
  const inner = new URL("/rollout-status", url);
  const feature = url.searchParams.get("feature");
  if (feature !== null) inner.searchParams.set("flag", feature);
  const hours = url.searchParams.get("hours");
  if (hours !== null) inner.searchParams.set("hours", hours);
  return await rolloutStatus(inner);
};

let routes: Map<string, Handler> | null = null;

/** The legacy routes (built at first use, with the deprecation dates in force then). */
function legacyRoutes(): Map<string, Handler> {
  routes ??= new Map([[
    "/api/feature-status",
    deprecatedRoute({
      route: "/api/feature-status",
      deprecatedAt: dateSetting("TRIMTAB_LEGACY_FEATURE_STATUS_DEPRECATED_AT"),
      sunsetAt: dateSetting("TRIMTAB_LEGACY_FEATURE_STATUS_SUNSET"),
      successor: "/functions/v1/rollout-status",
    }, featureStatus),
  ]]);
  return routes;
}

/** Routes one request of the `api` function. */
export async function legacyApi(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname.replace(/\/+$/, "");
  const h = legacyRoutes().get(path);
  if (!h) throw new HttpError(404, "NOT_FOUND", "no such route");
  return await h(req);
}
