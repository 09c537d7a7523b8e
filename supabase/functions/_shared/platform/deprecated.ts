//! Deprecated endpoints: a legacy route keeps answering, from the new implementation, while its
//! clients move, and says so in every answer:
//!   Deprecation: @<epoch seconds>                 (RFC 9745: when it was, or will be, deprecated)
//!   Sunset: <HTTP-date>                           (RFC 8594: when it stops answering)
//!   Link: <successor>; rel="successor-version"    (and <docs>; rel="deprecation" when given)
//! exposed to browsers through CORS. Each call is logged (warn "deprecated endpoint called": the
//! route, the caller's kind, a SHA-256 prefix of its user id or its API key's name, the user agent,
//! all masked like every log line) and counted in trimtab.deprecated_calls (one row per route,
//! caller and user agent; GET /rollout-status/deprecations lists them), so a team sees who still
//! calls it. From the sunset on, the route answers 410 Gone
//! `{ error: { code: "ENDPOINT_GONE", message, successor } }` with the same headers, without
//! running the handler. The clock is injectable (`setDeprecationClock`, tests).
//!
//! ```ts
//! const legacy = deprecatedRoute({ route: "/api/feature-status", deprecatedAt: "2026-12-06T00:00:00Z",
//!   sunsetAt: "2027-06-30T00:00:00Z", successor: "/functions/v1/rollout-status" }, handler);
//! ```
import { identify } from "./auth.ts";
import { corsHeaders } from "./cors.ts";
import { error, type Handler, HttpError, json } from "./http.ts";
import { log, maskString } from "./log.ts";
import { getDb } from "./store.ts";

export interface Deprecation {
  /** The legacy route, as logged and counted (e.g. "/api/feature-status"). */
  route: string;
  /** When it was (or will be) deprecated: an RFC 3339 string, epoch ms or a Date. */
  deprecatedAt: string | number | Date;
  /** When it stops answering (410 Gone from then on). */
  sunsetAt: string | number | Date;
  /** The replacement (URL or absolute path). */
  successor: string;
  /** A page explaining the deprecation (Link rel="deprecation"). */
  docs?: string;
}

let clock: () => number = () => Date.now();

/** Replaces the clock the wrappers read (tests); null restores Date.now. */
export function setDeprecationClock(fn: (() => number) | null): void {
  clock = fn ?? (() => Date.now());
}

const pending = new Set<Promise<void>>();

/** Resolves when every caller count started so far is written (tests). */
export async function deprecationsIdle(): Promise<void> {
  while (pending.size) await Promise.all([...pending]);
}

function time(v: string | number | Date, name: string): number {
  const t = v instanceof Date ? v.getTime() : typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(t)) throw new TypeError(`deprecation ${name} is not a date: ${String(v).slice(0, 40)}`);
  return t;
}

const linkTarget = (u: string) => `<${u.replace(/[<>\s]/g, encodeURIComponent)}>`;

/** The three headers of a deprecated route (see the module docs). */
export function deprecationHeaders(d: Deprecation): Record<string, string> {
  const links = [`${linkTarget(d.successor)}; rel="successor-version"`];
  if (d.docs) links.push(`${linkTarget(d.docs)}; rel="deprecation"; type="text/html"`);
  return {
    deprecation: `@${Math.floor(time(d.deprecatedAt, "deprecatedAt") / 1000)}`,
    sunset: new Date(time(d.sunsetAt, "sunsetAt")).toUTCString(),
    link: links.join(", "),
  };
}

async function sha256Prefix(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Who called: kind, and a hash of the user id or the API key's name (never the id itself). */
async function callerOf(req: Request): Promise<{ kind: string; caller: string }> {
  try {
    const r = await identify(req);
    if (!r.ok) return { kind: "invalid", caller: "" };
    const id = r.value;
    if (id.sub) return { kind: id.kind, caller: `sub:${await sha256Prefix(id.sub)}` };
    return { kind: id.kind, caller: id.keyName ? `key:${id.keyName.slice(0, 60)}` : "" };
  } catch {
    return { kind: "invalid", caller: "" };
  }
}

async function count(route: string, who: { kind: string; caller: string }, agent: string, gone: boolean) {
  try {
    await (await getDb()).query(
      `insert into trimtab.deprecated_calls (route, caller_kind, caller, user_agent, calls, gone)
       values ($1, $2, $3, $4, 1, $5)
       on conflict (route, caller_kind, caller, user_agent)
       do update set calls = trimtab.deprecated_calls.calls + 1,
                     gone = trimtab.deprecated_calls.gone + excluded.gone, last_at = now()`,
      [route.slice(0, 200), who.kind, who.caller, agent, gone ? 1 : 0],
    );
  } catch (e) {
    log.warn("deprecated endpoint call not counted", { route, err: e });
  }
}

/** Wraps `handler` as the deprecated `d.route` (see the module docs). */
export function deprecatedRoute(d: Deprecation, handler: Handler): Handler {
  const headers = deprecationHeaders(d); // a bad date fails here, at start, not per request
  const sunset = time(d.sunsetAt, "sunsetAt");
  return async (req: Request): Promise<Response> => {
    const gone = clock() >= sunset;
    const cors = corsHeaders(req);
    const expose = [cors["access-control-expose-headers"], "deprecation, sunset, link"].filter(Boolean).join(", ");
    const extra = { ...headers, "access-control-expose-headers": expose };
    const agent = maskString((req.headers.get("user-agent") ?? "").slice(0, 200)).slice(0, 200);
    const who = await callerOf(req);
    log.warn("deprecated endpoint called", {
      route: d.route,
      callerKind: who.kind,
      caller: who.caller,
      userAgent: agent,
      gone,
    });
    // counted in the background (EdgeRuntime.waitUntil where the runtime has it): never holds up the answer
    const work = count(d.route, who, agent, gone);
    pending.add(work);
    work.finally(() => pending.delete(work));
    const rt = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } }).EdgeRuntime;
    if (typeof rt?.waitUntil === "function") rt.waitUntil(work);
    if (gone) {
      return json(410, {
        error: {
          code: "ENDPOINT_GONE",
          message: `${d.route} was retired on ${headers.sunset}; use ${d.successor}`,
          successor: d.successor,
        },
      }, extra);
    }
    let res: Response;
    try {
      res = await handler(req);
    } catch (e) {
      if (e instanceof HttpError) res = e.toResponse();
      else {
        log.error("deprecated endpoint failed", { route: d.route, err: e });
        res = error(500, "INTERNAL", "internal error");
      }
    }
    const h = new Headers(res.headers);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
  };
}
