// The alert routes of `flags-admin` (its index.ts routes here; admin JWT or the service role).
// Every query runs as the caller (`db.asUser`), so row-level security applies.
//
//   GET    /flags-admin/alerts[?flag=&level=&kind=&acknowledged=true|false&since=&until=&before=&limit=]
//          newest first, each with its deliveries; `next` is the cursor (an id) for `before`
//   PATCH  /flags-admin/alerts/<id>        { acknowledged: boolean, note? }
//   POST   /flags-admin/alerts/<id>/ack    { note? }
//   GET    /flags-admin/alert-destinations
//   POST   /flags-admin/alert-destinations { name, kind, url | urlSecret, signingSecret?, minSeverity?, flags?, enabled? }
//   PATCH  /flags-admin/alert-destinations/<id>   (the same fields, each optional)
//   DELETE /flags-admin/alert-destinations/<id>
//   POST   /flags-admin/alert-destinations/<id>/test   sends a test alert now (not stored)
//
// Secrets are named (urlSecret, signingSecret), never taken or returned: a destination shows
// `secretsPresent` ({ url, signing }) instead. A Slack URL is a secret, so a `slack` destination
// takes `urlSecret` only; a `webhook` needs `signingSecret` (Standard Webhooks). Codes:
// INVALID_INPUT, INVALID_URL (platform/notify.ts `destinationUrlProblem`: https only, no private
// networks, TRIMTAB_ALERT_HOSTS), UNKNOWN_FIELD, INVALID_KEY, INVALID_DATE, UNKNOWN_ALERT, UNKNOWN_DESTINATION,
// DESTINATION_EXISTS.
import { alertOf, destinationOf } from "../platform/alerts.ts";
import { type Caller, requireAdmin } from "../platform/auth.ts";
import { allowMethods, DEFAULT_MAX_BODY, HttpError, json, readJson } from "../platform/http.ts";
import {
  type AlertMessage,
  type Destination,
  destinationUrlProblem,
  secretsPresent,
  send,
  SEVERITIES,
} from "../platform/notify.ts";
import { getDb } from "../platform/store.ts";
import { dateParam, flagKey, isObject, onlyFields } from "../flags/admin_validate.ts";
import { asCaller } from "../flags/admin.ts";

type Json = Record<string, unknown>;
const bad = (message: string) => new HttpError(400, "INVALID_INPUT", message);
const ID = /^[1-9]\d{0,17}$/;
const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;
/** What a secret itself looks like (a Standard Webhooks key, an API key, a Slack token). */
const SECRET_VALUE = /^(whsec_|sk[-_]|sb_secret_|xox[a-z]-)/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_. -]{0,99}$/;

/** readJson's refusal (413 / 400 BAD_JSON / 415) as a throwable. */
class BodyError extends HttpError {
  constructor(private readonly res: Response) {
    super(res.status, "BAD_BODY", "bad request body");
  }
  override toResponse(): Response {
    return this.res;
  }
}

async function body(req: Request): Promise<Json> {
  const r = await readJson(req);
  if (!r.ok) throw new BodyError(r.response);
  if (!isObject(r.value)) throw bad("request body must be a JSON object");
  return r.value;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function apiDelivery(r: Json) {
  return {
    destination: String(r.destination),
    name: String(r.destination_name),
    attempts: Number(r.attempts),
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: (r.last_error as string | null) ?? null,
    lastAttemptAt: iso(r.last_attempt_at),
    nextAttemptAt: iso(r.next_attempt_at),
    deliveredAt: iso(r.delivered_at),
    givenUpAt: iso(r.given_up_at),
  };
}

function apiAlert(r: Json, deliveries: Json[]) {
  const a: AlertMessage = alertOf(r);
  return {
    ...a,
    acknowledgedAt: iso(r.acknowledged_at),
    acknowledgedBy: (r.acknowledged_by as string | null) ?? null,
    ackNote: (r.ack_note as string | null) ?? null,
    deliveries: deliveries.filter((d) => String(d.alert_id) === a.id).map(apiDelivery),
  };
}

/** GET /alerts. */
export async function listAlerts(req: Request, c: Caller): Promise<Response> {
  const q = new URL(req.url).searchParams;
  const flag = q.get("flag") === null ? null : flagKey(q.get("flag"), "flag");
  const level = q.get("level");
  if (level !== null && !SEVERITIES.includes(level as never)) throw bad("level must be info, warning or critical");
  const kind = q.get("kind");
  if (kind !== null && !/^[a-z][a-z0-9_]{0,63}$/.test(kind)) throw bad("kind must be an alert kind (error_rate)");
  const ack = q.get("acknowledged");
  if (ack !== null && ack !== "true" && ack !== "false") throw bad("acknowledged must be true or false");
  const since = q.get("since") === null ? null : dateParam(q.get("since")!, "since");
  const until = q.get("until") === null ? null : dateParam(q.get("until")!, "until");
  const before = q.get("before");
  if (before !== null && !ID.test(before)) throw bad("before must be an alert id (a positive integer)");
  const limitText = q.get("limit") ?? "50";
  const limit = Number(limitText);
  if (!/^\d{1,3}$/.test(limitText) || limit < 1 || limit > 200) throw bad("limit must be an integer from 1 to 200");
  const out = await asCaller(c, async (tx) => {
    const rows = await tx.query<Json>(
      `select * from trimtab.alerts
        where ($1::text is null or flag_key = $1) and ($2::text is null or severity = $2)
          and ($3::text is null or kind = $3)
          and ($4::text is null or (acknowledged_at is not null) = ($4::text = 'true'))
          and ($5::text is null or at >= $5::text::timestamptz) and ($6::text is null or at < $6::text::timestamptz)
          and ($7::text is null or id < $7::text::bigint)
        order by id desc limit $8`,
      [flag, level, kind, ack, since?.toISOString() ?? null, until?.toISOString() ?? null, before, limit + 1],
    );
    const page = rows.slice(0, limit);
    const deliveries = page.length === 0 ? [] : await tx.query<Json>(
      "select * from trimtab.alert_deliveries where alert_id = any($1::text::bigint[]) order by id",
      [`{${page.map((r) => String(r.id)).join(",")}}`],
    );
    return { alerts: page.map((r) => apiAlert(r, deliveries)), more: rows.length > limit };
  });
  const last = out.alerts[out.alerts.length - 1];
  return json(200, { alerts: out.alerts, next: out.more && last ? last.id : null });
}

/** PATCH /alerts/<id> and POST /alerts/<id>/ack. */
export async function acknowledge(req: Request, c: Caller, id: string, post: boolean): Promise<Response> {
  if (!ID.test(id)) throw new HttpError(400, "INVALID_KEY", "an alert id is a positive integer");
  const b = onlyFields(await bodyOrEmpty(req, post), post ? ["note"] : ["acknowledged", "note"]);
  const on = post ? true : b.acknowledged;
  if (typeof on !== "boolean") throw bad("acknowledged must be a boolean");
  if (b.note !== undefined && b.note !== null && (typeof b.note !== "string" || b.note.length > 1000)) {
    throw bad("note must be a string of at most 1000 characters");
  }
  const note = typeof b.note === "string" && b.note.trim() !== "" ? b.note.trim() : null;
  const out = await asCaller(c, async (tx) => {
    const [row] = await tx.query<Json>(
      `update trimtab.alerts
          set acknowledged_at = case when $2 then coalesce(acknowledged_at, now()) end,
              acknowledged_by = case when $2 then coalesce(acknowledged_by, $3) end,
              ack_note = case when $2 then coalesce($4, ack_note) end
        where id = $1::text::bigint returning *`,
      [id, on, c.actor.slice(0, 200), note],
    );
    if (!row) throw new HttpError(404, "UNKNOWN_ALERT", `no alert ${id}`);
    const deliveries = await tx.query<Json>(
      "select * from trimtab.alert_deliveries where alert_id = $1::text::bigint",
      [
        id,
      ],
    );
    return apiAlert(row, deliveries);
  });
  return json(200, { alert: out });
}

/** The body; when `optional`, an absent or empty one is {} (a POST .../ack may send none). */
async function bodyOrEmpty(req: Request, optional: boolean): Promise<Json> {
  if (!optional) return await body(req);
  const r = await readJson(req, DEFAULT_MAX_BODY, { optional: true });
  if (!r.ok) throw new BodyError(r.response);
  if (r.value === undefined) return {};
  if (!isObject(r.value)) throw bad("request body must be a JSON object");
  return r.value;
}

// ---------------------------------------------------------------- destinations

const DEST_FIELDS = ["name", "kind", "url", "urlSecret", "signingSecret", "minSeverity", "flags", "enabled"];

/** Validated destination fields (all present for a create, the given ones for a patch). */
function destinationInput(b: Json, create: boolean): Json {
  const out: Json = {};
  const need = (k: string) => create && b[k] === undefined;
  if (need("name") || need("kind")) throw bad("name and kind are required");
  if (b.name !== undefined) {
    if (typeof b.name !== "string" || !NAME.test(b.name)) throw bad(`name must match ${NAME.source}`);
    out.name = b.name;
  }
  if (b.kind !== undefined) {
    if (b.kind !== "webhook" && b.kind !== "slack") throw bad('kind must be "webhook" or "slack"');
    out.kind = b.kind;
  }
  if (b.url !== undefined) {
    if (b.url !== null && (typeof b.url !== "string" || !/^https?:\/\/\S+$/.test(b.url) || b.url.length > 2000)) {
      throw bad("url must be an http(s) URL");
    }
    const refused = b.url === null ? null : destinationUrlProblem(b.url);
    if (refused) throw new HttpError(400, "INVALID_URL", refused);
    out.url = b.url;
  }
  for (const k of ["urlSecret", "signingSecret"]) {
    if (b[k] === undefined) continue;
    if (
      b[k] !== null &&
      (typeof b[k] !== "string" || !SECRET_NAME.test(b[k] as string) || SECRET_VALUE.test(b[k] as string))
    ) {
      throw bad(`${k} must name a secret (${SECRET_NAME.source}), not hold one`);
    }
    out[k] = b[k];
  }
  if (b.minSeverity !== undefined) {
    if (!SEVERITIES.includes(b.minSeverity as never)) throw bad("minSeverity must be info, warning or critical");
    out.minSeverity = b.minSeverity;
  }
  if (b.flags !== undefined) {
    if (b.flags !== null && (!Array.isArray(b.flags) || b.flags.length < 1 || b.flags.length > 100)) {
      throw bad("flags must be null or 1-100 flag keys");
    }
    out.flags = b.flags === null ? null : (b.flags as unknown[]).map((f, i) => flagKey(f, `flags[${i}]`));
  }
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== "boolean") throw bad("enabled must be a boolean");
    out.enabled = b.enabled;
  }
  return out;
}

/** The whole destination after a change must make sense (the table checks it too). */
function checkShape(d: Destination): void {
  if ((d.url === null) === (d.urlSecret === null)) throw bad("give exactly one of url or urlSecret");
  if (d.kind === "slack" && d.url !== null) throw bad("a Slack URL is a secret: name it with urlSecret");
  if (d.kind === "slack" && d.signingSecret !== null) throw bad("Slack destinations are not signed");
  if (d.kind === "webhook" && d.signingSecret === null) {
    throw bad("a webhook destination needs signingSecret (Standard Webhooks)");
  }
}

const COLS: Record<string, string> = {
  name: "name",
  kind: "kind",
  url: "url",
  urlSecret: "url_secret",
  signingSecret: "signing_secret",
  minSeverity: "min_severity",
  flags: "flags",
  enabled: "enabled",
};

async function apiDestination(r: Json) {
  const d = destinationOf(r);
  return {
    ...d,
    url: d.kind === "slack" ? null : d.url,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    secretsPresent: await secretsPresent(d, await getDb()),
  };
}

const exists = (name: unknown) => ({ code: "DESTINATION_EXISTS", message: `a destination named "${name}" exists` });
const unknownDestination = (id: string) => new HttpError(404, "UNKNOWN_DESTINATION", `no alert destination ${id}`);

/** GET /alert-destinations. */
export async function listDestinations(c: Caller): Promise<Response> {
  const rows = await asCaller(c, (tx) => tx.query<Json>("select * from trimtab.alert_destinations order by id"));
  return json(200, { destinations: await Promise.all(rows.map(apiDestination)) });
}

/** POST /alert-destinations. */
export async function createDestination(req: Request, c: Caller): Promise<Response> {
  const f = destinationInput(onlyFields(await body(req), DEST_FIELDS), true);
  checkShape(destinationOf({
    id: 0,
    min_severity: "warning",
    ...Object.fromEntries(Object.entries(f).map(([k, v]) => [COLS[k], v])),
  }));
  const keys = Object.keys(f);
  const row = await asCaller(c, async (tx) => {
    const [r] = await tx.query<Json>(
      `insert into trimtab.alert_destinations (${keys.map((k) => COLS[k]).join(", ")})
       values (${keys.map((k, i) => (k === "flags" ? `$${i + 1}::text::text[]` : `$${i + 1}`)).join(", ")})
       returning *`,
      keys.map((k) => (k === "flags" && f.flags !== null ? `{${(f.flags as string[]).join(",")}}` : f[k] as never)),
    );
    return r;
  }, exists(f.name));
  return json(201, { destination: await apiDestination(row) });
}

/** PATCH /alert-destinations/<id>. */
export async function patchDestination(req: Request, c: Caller, id: string): Promise<Response> {
  if (!ID.test(id)) throw new HttpError(400, "INVALID_KEY", "a destination id is a positive integer");
  const f = destinationInput(onlyFields(await body(req), DEST_FIELDS), false);
  const keys = Object.keys(f);
  if (keys.length === 0) throw bad("nothing to update");
  const row = await asCaller(c, async (tx) => {
    const [cur] = await tx.query<Json>(
      "select * from trimtab.alert_destinations where id = $1::text::bigint for update",
      [
        id,
      ],
    );
    if (!cur) throw unknownDestination(id);
    const next = { ...cur, ...Object.fromEntries(Object.entries(f).map(([k, v]) => [COLS[k], v])) };
    checkShape(destinationOf(next));
    const [r] = await tx.query<Json>(
      `update trimtab.alert_destinations
          set ${keys.map((k, i) => `${COLS[k]} = $${i + 2}${k === "flags" ? "::text::text[]" : ""}`).join(", ")}
        where id = $1::text::bigint returning *`,
      [
        id,
        ...keys.map((
          k,
        ) => (k === "flags" && f.flags !== null ? `{${(f.flags as string[]).join(",")}}` : f[k] as never)),
      ],
    );
    return r;
  }, exists(f.name));
  return json(200, { destination: await apiDestination(row) });
}

/** DELETE /alert-destinations/<id> (its pending deliveries are given up on their next attempt). */
export async function deleteDestination(c: Caller, id: string): Promise<Response> {
  if (!ID.test(id)) throw new HttpError(400, "INVALID_KEY", "a destination id is a positive integer");
  const rows = await asCaller(
    c,
    (tx) => tx.query("delete from trimtab.alert_destinations where id = $1::text::bigint returning id", [id]),
  );
  if (rows.length === 0) throw unknownDestination(id);
  return json(200, { deleted: id });
}

/** POST /alert-destinations/<id>/test: one attempt now, not stored. */
export async function testDestination(c: Caller, id: string): Promise<Response> {
  if (!ID.test(id)) throw new HttpError(400, "INVALID_KEY", "a destination id is a positive integer");
  const [row] = await asCaller(
    c,
    (tx) => tx.query<Json>("select * from trimtab.alert_destinations where id = $1::text::bigint", [id]),
  );
  if (!row) throw unknownDestination(id);
  const now = Date.now();
  const alert: AlertMessage = {
    id: `test-${crypto.randomUUID()}`,
    kind: "test",
    flag: null,
    severity: "info",
    message: `test alert from trimtab, sent by ${c.actor.slice(0, 100)}`,
    details: null,
    at: new Date(now).toISOString(),
  };
  const outcome = await send(destinationOf(row), alert, now, await getDb());
  return json(200, { delivered: outcome.ok, status: outcome.status, error: outcome.error });
}

/** Routes `/flags-admin/<parts...>` for alerts and destinations; null when the path is not theirs. */
export async function routeAlerts(req: Request, parts: string[]): Promise<Response | null> {
  const method = req.method === "HEAD" ? "GET" : req.method;
  const route = async (methods: string[], fn: (c: Caller) => Promise<Response>) =>
    allowMethods(req, methods) ?? await fn(await requireAdmin(req));
  const [top, id, action] = parts;
  if (top === "alerts") {
    if (parts.length === 1) return await route(["GET"], (c) => listAlerts(req, c));
    if (parts.length === 2) return await route(["PATCH"], (c) => acknowledge(req, c, id, false));
    if (parts.length === 3 && action === "ack") return await route(["POST"], (c) => acknowledge(req, c, id, true));
  }
  if (top === "alert-destinations") {
    if (parts.length === 1) {
      return await route(["GET", "POST"], (c) => method === "GET" ? listDestinations(c) : createDestination(req, c));
    }
    if (parts.length === 2) {
      return await route(
        ["PATCH", "DELETE"],
        (c) => method === "PATCH" ? patchDestination(req, c, id) : deleteDestination(c, id),
      );
    }
    if (parts.length === 3 && action === "test") return await route(["POST"], (c) => testDestination(c, id));
  }
  return null;
}
