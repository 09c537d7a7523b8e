//! CORS for browsers. Credentials travel as headers (a bearer token, an apikey), never cookies, so
//! any origin may call the public functions (Supabase's own guidance); TRIMTAB_CORS_ORIGINS
//! (comma-separated) restricts them. The admin functions (flags-admin, rollout-status, ai-cache, data-migrations)
//! answer only the origins in TRIMTAB_ADMIN_ORIGINS, by default the project's own (the origin of
//! SUPABASE_URL, where the local stack serves the dashboard): a page elsewhere that got hold of an
//! admin token still cannot drive the admin API from a browser. The allowed request headers are the ones Supabase's client sends to functions: the list
//! `@supabase/supabase-js/cors` exports (authorization, x-client-info, apikey, content-type,
//! x-retry-count, traceparent, tracestate, baggage; tests/deno/cors_test.ts keeps this a superset
//! of it, against the pinned supabase-js), `x-region` (functions.invoke with a region), and
//! trimtab's own (if-none-match, x-correlation-id, idempotency-key). The list is copied rather
//! than imported so supabase-js stays out of every function's bundle.
import { env } from "./env.ts";

/** The request headers supabase-js sends (its `corsHeaders`, 2.119.2). */
export const SUPABASE_CLIENT_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "x-retry-count",
  "traceparent",
  "tracestate",
  "baggage",
] as const;

export const CORS_ALLOW_HEADERS = [
  ...SUPABASE_CLIENT_HEADERS,
  "x-region",
  "if-none-match",
  "x-correlation-id",
  "idempotency-key",
].join(", ");
export const CORS_EXPOSE_HEADERS =
  "etag, x-correlation-id, x-trimtab-version, x-trimtab-stale, x-trimtab-snapshot-age, retry-after";
export const CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

function allowedOrigins(): string[] | null {
  const v = env("TRIMTAB_CORS_ORIGINS");
  return v ? v.split(",").map((s) => s.trim()).filter(Boolean) : null;
}

/** The origins the admin functions answer: TRIMTAB_ADMIN_ORIGINS, else SUPABASE_URL's origin. */
export function adminOrigins(): string[] {
  const v = env("TRIMTAB_ADMIN_ORIGINS");
  if (v) return v.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    const own = env("SUPABASE_URL");
    return own ? [new URL(own).origin] : [];
  } catch {
    return [];
  }
}

/** CORS headers for a response to `req` (`admin`: only adminOrigins()). */
export function corsHeaders(req: Request, scope: "public" | "admin" = "public"): Record<string, string> {
  const list = scope === "admin" ? adminOrigins() : allowedOrigins();
  const origin = req.headers.get("origin");
  const h: Record<string, string> = {
    "access-control-allow-methods": CORS_METHODS,
    "access-control-allow-headers": CORS_ALLOW_HEADERS,
    "access-control-expose-headers": CORS_EXPOSE_HEADERS,
    "access-control-max-age": "600",
  };
  if (list === null || list.includes("*")) h["access-control-allow-origin"] = "*";
  else if (origin && list.includes(origin)) {
    h["access-control-allow-origin"] = origin;
    h["vary"] = "Origin";
  } else h["vary"] = "Origin";
  return h;
}
