//! Tracking events (OpenFeature track()) into the usage log, trimtab.flag_events. Browsers post
//! their own (POST /flags/events with a user access token: the row's user is the token's `sub`,
//! inserted as that user so row-level security holds it to its own id; batches of at most 20
//! events, 16 KiB, rate-limited per user); the edge's server provider records directly, as the
//! service role. The event shape is js/openfeature.js `trackingEvent`'s (one validation for both).
import { type Identity, requireCaller } from "../platform/auth.ts";
import type { Db } from "../platform/db.ts";
import { envPositive } from "../platform/env.ts";
import { HttpError, json, readJson } from "../platform/http.ts";
import { getDb, onDbChange } from "../platform/store.ts";
import { RateLimiter, TRACK_LIMITS, type TrackingEvent, trackingEvent } from "../platform/trimtab.ts";

const MAX_BODY = 16 * 1024;

let limiter: { rl: RateLimiter; perMin: number } | null = null;
function rateLimiter(): RateLimiter {
  const perMin = Math.floor(envPositive("TRIMTAB_EVENTS_PER_MIN"));
  if (!limiter || limiter.perMin !== perMin) {
    limiter?.rl.free();
    limiter = { rl: new RateLimiter(perMin, perMin, 100_000), perMin };
  }
  return limiter.rl;
}
onDbChange(() => {
  limiter?.rl.free();
  limiter = null;
});

/** Validates a batch `{ events: [{ name, details? }] }`; throws 400 INVALID_EVENT naming the index. */
export function parseEvents(body: unknown): TrackingEvent[] {
  const list = (body as { events?: unknown })?.events;
  if (!Array.isArray(list) || list.length === 0 || list.length > TRACK_LIMITS.events) {
    throw new HttpError(400, "INVALID_EVENT", `events must be an array of 1-${TRACK_LIMITS.events} events`);
  }
  return list.map((e, i) => {
    const r = trackingEvent((e as { name?: unknown })?.name, (e as { details?: unknown })?.details);
    if (r.error !== undefined) throw new HttpError(400, "INVALID_EVENT", `events[${i}]: ${r.error}`);
    return r.event;
  });
}

const INSERT = `insert into trimtab.flag_events (user_id, name, value, details, source)
                select $1, e->>'name', (e->>'value')::double precision, coalesce(e->'details', '{}'::jsonb), $2
                  from jsonb_array_elements($3::text::jsonb) e`;

/** Records events of the edge (the server provider), as the function's own connection. */
export async function recordServerEvents(db: Db, userId: string | null, events: TrackingEvent[]): Promise<void> {
  await db.query(INSERT, [userId, "server", events]);
}

/** POST /flags/events: the caller's own tracking events. */
export async function eventsRequest(req: Request): Promise<Response> {
  const id: Identity = await requireCaller(req);
  if (id.kind === "anon" || id.kind === "service" || !id.sub) {
    throw new HttpError(401, "UNAUTHORIZED", "a user access token is required to record tracking events");
  }
  const body = await readJson(req, MAX_BODY);
  if (!body.ok) return body.response;
  const events = parseEvents(body.value);
  const decision = rateLimiter().check(`events:${id.sub}`);
  if (!decision.allowed) {
    const retry = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
    throw new HttpError(429, "RATE_LIMITED", "too many tracking events; retry later", { "retry-after": retry });
  }
  const db = await getDb();
  await db.asUser(id.claims, (tx) => tx.query(INSERT, [id.sub!, "web", events]));
  return json(202, { recorded: events.length });
}
