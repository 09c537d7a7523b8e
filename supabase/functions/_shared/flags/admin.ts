// The logic of the `flags-admin` edge function (its index.ts only routes).
//
// Every route needs an admin JWT (app_metadata.role = "admin") or the service role (a secret key):
// platform/auth.ts `requireAdmin` (401 for bad or missing credentials, 403 for anyone else).
// Input is validated before the database is touched (admin_validate.ts).
//
// Each change is ONE transaction run as the caller (`db.asUser`, so RLS applies): first
// `tx.audit({actor, action, reason})` (the row trigger writes the audit row and bumps the config
// version), then the change, then the change is compiled by the engine against the rest of the
// configuration (admin_model.ts); if it does not compile the transaction rolls back (400
// INVALID_FLAG, the engine's message names flag and field). After a successful write
// `invalidate()` makes this isolate serve it at once.
//
// A rollout change while a schedule governs: the flag's effective rollout is its latest elapsed
// schedule step, if any (that is what the engine serves). A PATCH of `rollout` without `schedule`
// ramps from the effective rollout, and removes the elapsed steps (they would keep overriding the
// new rollout), audited as flag.schedule.cleared with the steps removed; steps still ahead stay.
// Every flag the API returns carries `effectiveRollout`.
//
// Audit actions: flag.create, flag.update (a PATCH touching anything besides the rollout),
// flag.ramp (a PATCH changing only the rollout), flag.ramp.forced (an extra row, written in the
// same transaction, when `force: true` skipped a stage), flag.cutover.forced (likewise, when
// `force: true` took a flag to full exposure past a failing cutover check), flag.delete,
// flag.rollback, override.set, override.delete, flag.schedule.cleared (an extra row). `force: true` always needs a non-empty reason
// (400 REASON_REQUIRED), also when nothing turns out to need forcing.
//
// Full exposure (a PATCH after which the flag is on for everyone: enabled with adminOverride "on",
// or adminOverride null and a rollout of 100 or a schedule step reaching 100, when it was not
// before) must pass the gate flags-admin's index.ts installs (admin_gate.ts: the cutover check on
// shadow comparisons): refused with 409 CUTOVER_CHECK_FAILED naming each failed criterion
// (`failed`) and what was measured (`summary`), unless forced. `metadata.guard` is checked by the
// core (400 INVALID_THRESHOLD naming the setting).
import {
  apiAudit,
  apiFlag,
  apiOverride,
  checkGuardSettings,
  COLUMNS,
  CREATE_FIELDS,
  dateParam,
  dbError,
  effectiveRollout,
  elapsedSteps,
  type FlagFields,
  flagFields,
  flagKey,
  type Json,
  onlyFields,
  overrideInput,
  PATCH_FIELDS,
  reasonOf,
  requiredReason,
  stagesParam,
} from "./admin_validate.ts";
import type { Caller } from "../platform/auth.ts";
import { invalidate } from "./config.ts";
import type { Param, Tx } from "../platform/db.ts";
import { checkChange, dependentsOf, type FlagsModel, install, readChange } from "./admin_model.ts";
import { DEFAULT_MAX_BODY, HttpError, json, readJson } from "../platform/http.ts";
import { getDb } from "../platform/store.ts";
import { checkRamp, TrimtabError } from "../platform/trimtab.ts";
import { fullExposure, rampGate } from "./admin_gate.ts";

export { dbError } from "./admin_validate.ts";

/** readJson's refusal (413 / 400 BAD_JSON / 415) as a throwable. */
class BodyError extends HttpError {
  constructor(private readonly res: Response) {
    super(res.status, "BAD_BODY", "bad request body");
  }
  override toResponse(): Response {
    return this.res;
  }
}

/** An HttpError whose error object carries extra fields (e.g. `skipped`). */
class DetailedError extends HttpError {
  constructor(status: number, code: string, message: string, private readonly extra: Json) {
    super(status, code, message);
  }
  override toResponse(): Response {
    return json(this.status, { error: { code: this.code, message: this.message, ...this.extra } });
  }
}

async function body(req: Request): Promise<unknown> {
  const r = await readJson(req);
  if (!r.ok) throw new BodyError(r.response);
  return r.value;
}

/** A JSON body when one was sent (a DELETE may send none: absent or empty is {}). */
async function optionalBody(req: Request): Promise<unknown> {
  const r = await readJson(req, DEFAULT_MAX_BODY, { optional: true });
  if (!r.ok) throw new BodyError(r.response);
  return r.value ?? {};
}

type Conflict = { code: string; message: string };

/** Runs fn in one transaction as the caller, mapping database errors to generic answers (the
 *  admin APIs' one way to write: flags here, alert destinations in safety/alerts_admin.ts). */
export async function asCaller<T>(c: Caller, fn: (tx: Tx) => Promise<T>, conflict?: Conflict): Promise<T> {
  const db = await getDb();
  try {
    return await db.asUser(c.claims, fn);
  } catch (e) {
    const mapped = dbError(e, conflict);
    if (mapped) throw mapped;
    throw e;
  }
}

/**
 * A write: audit first, then fn (which says which flags it `touched`), then the change must
 * compile against the rest of the configuration (admin_model.ts: the changed flags and what
 * depends on them, not every flag) and keep client-visible prerequisites consistent around
 * `clientCheck`. The model after the change is kept once the transaction has committed.
 */
async function write<T>(
  c: Caller,
  audit: { action: string; reason?: string },
  fn: (tx: Tx) => Promise<T & { touched: string[] }>,
  opts: { conflict?: Conflict; clientCheck?: string } = {},
): Promise<T & { version: string }> {
  const out = await asCaller(c, async (tx) => {
    await tx.audit({ actor: c.actor, action: audit.action, reason: audit.reason });
    const result = await fn(tx);
    const next = await checkChange(tx, await readChange(tx, result.touched));
    if (opts.clientCheck !== undefined) checkClientPrerequisites(next, opts.clientCheck);
    return { result, next };
  }, opts.conflict);
  install(out.next);
  invalidate();
  const { touched: _, ...rest } = out.result;
  return { ...(rest as T), version: String(out.next.version) };
}

/** A client-visible flag must only depend on client-visible flags (the browser evaluates it). */
function checkClientPrerequisites(m: FlagsModel, key: string): void {
  const me = m.flags.get(key);
  if (!me) return;
  if (me.clientVisible) {
    for (const p of (me.prerequisites ?? []).map((x) => String((x as { flag?: unknown })?.flag))) {
      const dep = m.flags.get(p);
      if (dep && !dep.clientVisible) {
        throw new HttpError(
          400,
          "PREREQUISITE_NOT_CLIENT_VISIBLE",
          `flag "${key}" is client-visible but its prerequisite "${p}" is not`,
        );
      }
    }
  } else {
    const dependent = dependentsOf(m, key).find((f) => f.clientVisible);
    if (dependent) {
      throw new HttpError(
        400,
        "PREREQUISITE_NOT_CLIENT_VISIBLE",
        `client-visible flag "${dependent.key}" has "${key}" as a prerequisite, so "${key}" must stay client-visible`,
      );
    }
  }
}

const JSONB = new Set(["rules", "variants", "prerequisites", "schedule", "metadata"]);

/** SQL value expression and parameter for one validated field. */
function column(f: keyof FlagFields, v: unknown, n: number): { col: string; expr: string; param: Param } {
  const col = COLUMNS[f];
  if (f === "stages") return { col, expr: `$${n}::text::numeric[]`, param: stagesParam(v as number[] | null) };
  if (f === "rollout") return { col, expr: `$${n}::text::numeric`, param: String(v) };
  if (JSONB.has(f)) return { col, expr: `$${n}::text::jsonb`, param: v === null ? null : JSON.stringify(v) };
  return { col, expr: `$${n}`, param: v as Param };
}

/** An audit row of its own (forced ramps, forced cutovers, cleared schedule steps), in `tx`. */
async function auditRow(
  tx: Tx,
  actor: string,
  action: string,
  key: string,
  reason: string | undefined,
  before: Json,
  after: Json,
): Promise<void> {
  await tx.query(
    `insert into trimtab.flag_audit_log (actor, action, flag_key, before, after, reason, config_version)
     values ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6, (select version from trimtab.flag_config_version where id))`,
    [actor, action, key, JSON.stringify(before), JSON.stringify(after), reason ?? null],
  );
}

const unknownFlag = (key: string) => new HttpError(404, "UNKNOWN_FLAG", `unknown flag "${key}"`);

// ---------------------------------------------------------------- flags

export async function listFlags(c: Caller): Promise<Response> {
  const out = await asCaller(c, async (tx) => {
    const [v] = await tx.query<{ version: unknown }>("select version from trimtab.flag_config_version where id");
    const rows = await tx.query<Json>("select * from trimtab.feature_flags order by key");
    return { version: String(v?.version ?? "0"), flags: rows.map((r) => apiFlag(r)) };
  });
  return json(200, out);
}

export async function getFlag(c: Caller, key: string): Promise<Response> {
  flagKey(key);
  const out = await asCaller(c, async (tx) => {
    const [v] = await tx.query<{ version: unknown }>("select version from trimtab.flag_config_version where id");
    const [row] = await tx.query<Json>("select * from trimtab.feature_flags where key = $1", [key]);
    if (!row) throw unknownFlag(key);
    return { version: String(v?.version ?? "0"), flag: apiFlag(row) };
  });
  return json(200, out);
}

export async function createFlag(req: Request, c: Caller): Promise<Response> {
  const b = onlyFields(await body(req), CREATE_FIELDS);
  const key = flagKey(b.key);
  const fields = flagFields(b);
  checkGuardSettings(fields.metadata);
  const reason = reasonOf(b.reason);
  const exists = { code: "FLAG_EXISTS", message: `flag "${key}" already exists` };
  const out = await write(c, { action: "flag.create", reason }, async (tx) => {
    const cols = ["key"], exprs = ["$1"], params: Param[] = [key];
    for (const [f, v] of Object.entries(fields)) {
      const x = column(f as keyof FlagFields, v, params.length + 1);
      cols.push(x.col);
      exprs.push(x.expr);
      params.push(x.param);
    }
    const [row] = await tx.query<Json>(
      `insert into trimtab.feature_flags (${cols.join(", ")}) values (${exprs.join(", ")})
       on conflict (key) do nothing returning *`,
      params,
    );
    if (!row) throw new HttpError(409, exists.code, exists.message);
    return { flag: apiFlag(row), touched: [key] };
  }, { conflict: exists, clientCheck: key });
  return json(201, { version: out.version, flag: out.flag });
}

export async function patchFlag(req: Request, c: Caller, key: string): Promise<Response> {
  flagKey(key);
  const b = onlyFields(await body(req), PATCH_FIELDS);
  const fields = flagFields(b);
  checkGuardSettings(fields.metadata);
  if (b.force !== undefined && typeof b.force !== "boolean") {
    throw new HttpError(400, "INVALID_INPUT", "force must be a boolean");
  }
  const force = b.force === true;
  const reason = force ? requiredReason(b.reason, "to force a ramp past a stage") : reasonOf(b.reason);
  const names = Object.keys(fields);
  if (names.length === 0) throw new HttpError(400, "INVALID_INPUT", "nothing to update: give at least one flag field");
  const action = names.length === 1 && names[0] === "rollout" ? "flag.ramp" : "flag.update";

  const out = await write(c, { action, reason }, async (tx) => {
    const [cur] = await tx.query<Json>("select * from trimtab.feature_flags where key = $1 for update", [key]);
    if (!cur) throw unknownFlag(key);
    let forced: { from: number; to: number; skipped?: number; stages: number[] } | null = null;
    const now = Date.now();
    const from = effectiveRollout(cur, now);
    const elapsed = fields.rollout !== undefined && fields.schedule === undefined ? elapsedSteps(cur, now) : null;
    if (elapsed) fields.schedule = elapsed.ahead.length ? elapsed.ahead : null;
    if (fields.rollout !== undefined && fields.rollout !== from) {
      const to = fields.rollout;
      const stages = fields.stages !== undefined
        ? fields.stages
        : Array.isArray(cur.stages)
        ? cur.stages.map(Number)
        : null;
      if (stages && stages.length > 0) {
        try {
          checkRamp(from, to, stages);
        } catch (e) {
          if (!(e instanceof TrimtabError)) throw e;
          const { code, message } = e;
          if (code === "RAMP_SKIPS_STAGE") {
            // The core names the stage it refuses to skip (from, to and skipped travel on the error).
            const skipped = typeof e.skipped === "number" ? e.skipped : undefined;
            if (!force) {
              throw new DetailedError(409, "RAMP_SKIPS_STAGE", message, skipped === undefined ? {} : { skipped });
            }
            forced = { from, to, skipped, stages };
          } else if (code === "INVALID_PERCENT") throw new HttpError(400, "INVALID_PERCENT", message);
          else throw new HttpError(400, "INVALID_FLAG", `flag "${key}": ${message}`);
        }
      }
    }
    const sets: string[] = [], params: Param[] = [key];
    for (const [f, v] of Object.entries(fields)) {
      const x = column(f as keyof FlagFields, v, params.length + 1);
      sets.push(`${x.col} = ${x.expr}`);
      params.push(x.param);
    }
    const [row] = await tx.query<Json>(
      `update trimtab.feature_flags set ${sets.join(", ")} where key = $1 returning *`,
      params,
    );
    if (!row) throw unknownFlag(key); // RLS hid it (cannot happen for admins)
    const gate = rampGate();
    let cutoverForced = false;
    if (gate && !fullExposure(cur) && fullExposure(row)) {
      const g = await gate(tx, { key, metadata: row.metadata });
      if (g.required && !g.ok) {
        if (!force) {
          throw new DetailedError(
            409,
            "CUTOVER_CHECK_FAILED",
            `flag "${key}" cannot go to full exposure: ${g.reasons.map((r) => r.message).join("; ")}`,
            { failed: g.reasons as unknown as Json, summary: (g.summary ?? null) as Json },
          );
        }
        cutoverForced = true;
        await auditRow(tx, c.actor, "flag.cutover.forced", key, reason, {
          rollout: Number(cur.rollout_percentage),
          adminOverride: cur.admin_override ?? null,
        }, {
          rollout: Number(row.rollout_percentage),
          adminOverride: row.admin_override ?? null,
          failed: g.reasons.map((r) => r.code),
          summary: g.summary ?? null,
        });
      }
    }
    if (forced) {
      const f = forced as { from: number; to: number; skipped?: number; stages: number[] };
      await auditRow(tx, c.actor, "flag.ramp.forced", key, reason, { rollout: f.from, stages: f.stages }, {
        rollout: f.to,
        skipped: f.skipped ?? null,
      });
    }
    if (elapsed) {
      await auditRow(tx, c.actor, "flag.schedule.cleared", key, reason, { schedule: elapsed.all }, {
        schedule: elapsed.ahead,
        cleared: elapsed.cleared,
        rollout: fields.rollout,
      });
    }
    return { flag: apiFlag(row), forced: forced !== null || cutoverForced, touched: [key] };
  }, { clientCheck: key });
  return json(200, { version: out.version, flag: out.flag, ...(out.forced ? { forced: true } : {}) });
}

export async function deleteFlag(req: Request, c: Caller, key: string): Promise<Response> {
  flagKey(key);
  const url = new URL(req.url);
  const b = onlyFields(await optionalBody(req), ["reason"]);
  const reason = reasonOf(url.searchParams.get("reason") ?? b.reason);
  const out = await write(c, { action: "flag.delete", reason }, async (tx) => {
    const rows = await tx.query<Json>("delete from trimtab.feature_flags where key = $1 returning key", [key]);
    if (rows.length === 0) throw unknownFlag(key);
    return { touched: [key] };
  });
  return json(200, { version: out.version, deleted: key });
}

/** POST /rollback: admin_override = 'off' on one flag or on every flag, in one statement. */
export async function rollback(req: Request, c: Caller): Promise<Response> {
  const b = onlyFields(await body(req), ["flag", "all", "reason"]);
  if (b.all !== undefined && b.all !== true) throw new HttpError(400, "INVALID_INPUT", "all must be true when given");
  if ((b.flag === undefined) === (b.all === undefined)) {
    throw new HttpError(400, "INVALID_INPUT", 'give exactly one of "flag" or "all": true');
  }
  const key = b.flag === undefined ? null : flagKey(b.flag, "flag");
  const reason = requiredReason(b.reason, "for a rollback");
  const out = await write(c, { action: "flag.rollback", reason }, async (tx) => {
    if (key !== null) {
      const [cur] = await tx.query<Json>("select key from trimtab.feature_flags where key = $1", [key]);
      if (!cur) throw unknownFlag(key);
    }
    const rows = await tx.query<{ key: string }>(
      `update trimtab.feature_flags set admin_override = 'off'
       where admin_override is distinct from 'off' and ($1::text is null or key = $1) returning key`,
      [key],
    );
    const flags = rows.map((r) => r.key).sort();
    return { flags, touched: flags };
  });
  return json(200, { version: out.version, flags: out.flags });
}

// ---------------------------------------------------------------- overrides

function overrideFilter(url: URL, required: boolean): { flag: string | null; unit: string | null } {
  const flag = url.searchParams.get("flag"), unit = url.searchParams.get("unit");
  if (required && (flag === null || unit === null)) {
    throw new HttpError(400, "INVALID_INPUT", "flag and unit query parameters are required");
  }
  if (flag !== null) flagKey(flag, "flag");
  if (unit !== null && (unit.length < 1 || unit.length > 200)) {
    throw new HttpError(400, "INVALID_INPUT", "unit must be 1-200 characters");
  }
  return { flag, unit };
}

export async function listOverrides(req: Request, c: Caller): Promise<Response> {
  const { flag, unit } = overrideFilter(new URL(req.url), false);
  const rows = await asCaller(c, (tx) =>
    tx.query<Json>(
      `select * from trimtab.user_feature_overrides
       where ($1::text is null or flag_key = $1) and ($2::text is null or unit = $2)
       order by flag_key, unit`,
      [flag, unit],
    ));
  return json(200, { overrides: rows.map(apiOverride) });
}

export async function putOverride(req: Request, c: Caller): Promise<Response> {
  const o = overrideInput(await body(req));
  const out = await write(c, { action: "override.set", reason: o.reason }, async (tx) => {
    const [row] = await tx.query<Json>(
      `insert into trimtab.user_feature_overrides (flag_key, unit, enabled, variant, expires_at, reason)
       values ($1, $2, $3, $4, $5::text::timestamptz, $6)
       on conflict (flag_key, unit) do update
         set enabled = excluded.enabled, variant = excluded.variant,
             expires_at = excluded.expires_at, reason = excluded.reason
       returning *, (xmax = 0) as inserted`,
      [o.flag, o.unit, o.enabled, o.variant, o.expiresAt?.toISOString() ?? null, o.reason],
    );
    return { override: apiOverride(row), created: row.inserted === true, touched: [o.flag] };
  });
  return json(out.created ? 201 : 200, { version: out.version, override: out.override });
}

export async function deleteOverride(req: Request, c: Caller): Promise<Response> {
  const url = new URL(req.url);
  const { flag, unit } = overrideFilter(url, true);
  const b = onlyFields(await optionalBody(req), ["reason"]);
  const reason = reasonOf(url.searchParams.get("reason") ?? b.reason);
  const out = await write(c, { action: "override.delete", reason }, async (tx) => {
    const rows = await tx.query<Json>(
      "delete from trimtab.user_feature_overrides where flag_key = $1 and unit = $2 returning id",
      [flag, unit],
    );
    if (rows.length === 0) throw new HttpError(404, "UNKNOWN_OVERRIDE", `no override of "${flag}" for that unit`);
    return { touched: [flag!] };
  });
  return json(200, { version: out.version, deleted: { flag, unit } });
}

// ---------------------------------------------------------------- audit

export async function auditLog(req: Request, c: Caller): Promise<Response> {
  const q = new URL(req.url).searchParams;
  const flag = q.get("flag"), actor = q.get("actor"), action = q.get("action");
  if (flag !== null) flagKey(flag, "flag");
  for (const [name, v] of [["actor", actor], ["action", action]] as const) {
    if (v !== null && (v.length < 1 || v.length > 200)) {
      throw new HttpError(400, "INVALID_INPUT", `${name} must be 1-200 characters`);
    }
  }
  const since = q.get("since") === null ? null : dateParam(q.get("since")!, "since");
  const until = q.get("until") === null ? null : dateParam(q.get("until")!, "until");
  const limitText = q.get("limit");
  const limit = limitText === null ? 100 : Number(limitText);
  if (!/^\d{1,3}$/.test(limitText ?? "100") || limit < 1 || limit > 500) {
    throw new HttpError(400, "INVALID_INPUT", "limit must be an integer from 1 to 500");
  }
  const before = q.get("before");
  if (before !== null && !/^[1-9]\d{0,17}$/.test(before)) {
    throw new HttpError(400, "INVALID_INPUT", "before must be an entry id (a positive integer)");
  }
  const rows = await asCaller(c, (tx) =>
    tx.query<Json>(
      `select * from trimtab.flag_audit_log
       where ($1::text is null or flag_key = $1) and ($2::text is null or actor = $2)
         and ($3::text is null or action = $3) and ($4::text is null or at >= $4::text::timestamptz)
         and ($5::text is null or at < $5::text::timestamptz) and ($6::text is null or id < $6::text::bigint)
       order by id desc limit $7`,
      [flag, actor, action, since?.toISOString() ?? null, until?.toISOString() ?? null, before, limit + 1],
    ));
  const more = rows.length > limit;
  const entries = rows.slice(0, limit).map(apiAudit);
  return json(200, { entries, next: more ? entries[entries.length - 1].id : null });
}
