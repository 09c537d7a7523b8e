// Input validation and row mapping for the `flags-admin` function (logic in admin.ts).
//
// Everything here runs BEFORE the database is touched: a request that fails here writes nothing.
// Codes: UNKNOWN_FIELD (names the field), INVALID_INPUT (wrong type or shape), INVALID_PERCENT
// (outside 0..100 or more than 4 decimals), INVALID_KEY (the migration's key format),
// INVALID_DATE (not RFC 3339, or not in the future where that is required), REASON_REQUIRED,
// INVALID_THRESHOLD (a `metadata.guard` setting the core refuses: unknown, wrong type, out of
// range, a warning level beyond its critical one).
import { dbHttpError, HttpError } from "../platform/http.ts";
import { TrimtabError, validateRolloutThresholds } from "../platform/trimtab.ts";

/** The migration's key format (feature_flags_key_format). */
export const KEY_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
/** The migration's salt format (feature_flags_salt_format). */
const SALT_RE = /^[A-Za-z0-9_./-]{1,128}$/;
/** A percentage as sent to the database: plain decimal, at most 4 decimals. */
const PERCENT_RE = /^\d{1,3}(\.\d{1,4})?$/;
/** RFC 3339 date-time (upper or lower case T/Z, optional fraction, Z or an offset). */
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export type Json = Record<string, unknown>;

/** The fields of a flag an admin may write, with their ApiFlag (camelCase) names. */
export interface FlagFields {
  description?: string | null;
  enabled?: boolean;
  adminOverride?: "on" | "off" | null;
  rollout?: number;
  salt?: string | null;
  stickiness?: string;
  rules?: unknown[] | null;
  variants?: unknown[] | null;
  prerequisites?: unknown[] | null;
  stages?: number[] | null;
  schedule?: unknown[] | null;
  clientVisible?: boolean;
  metadata?: Json;
}

/** ApiFlag field -> feature_flags column (fixed names: safe to put in SQL text). */
export const COLUMNS: Record<keyof FlagFields, string> = {
  description: "description",
  enabled: "enabled",
  adminOverride: "admin_override",
  rollout: "rollout_percentage",
  salt: "salt",
  stickiness: "stickiness",
  rules: "rules",
  variants: "variants",
  prerequisites: "prerequisites",
  stages: "stages",
  schedule: "schedule",
  clientVisible: "client_visible",
  metadata: "metadata",
};
const WRITABLE = Object.keys(COLUMNS) as (keyof FlagFields)[];

const bad = (code: string, message: string) => new HttpError(400, code, message);
const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
export const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

/** The body must be a JSON object holding only `allowed` fields. */
export function onlyFields(body: unknown, allowed: readonly string[]): Json {
  if (!isObject(body)) throw bad("INVALID_INPUT", `request body must be a JSON object, got ${typeOf(body)}`);
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw bad("UNKNOWN_FIELD", `unknown field "${k.slice(0, 100)}"`);
  }
  return body;
}

export function flagKey(v: unknown, what = "key"): string {
  if (typeof v !== "string" || !KEY_RE.test(v)) {
    throw bad("INVALID_KEY", `${what} must match ${KEY_RE.source}`);
  }
  return v;
}

/** A percentage in [0, 100] with at most 4 decimals (what the column and the engine accept). */
export function percent(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw bad("INVALID_INPUT", `${field} must be a number, got ${typeOf(v)}`);
  }
  if (v < 0 || v > 100 || !PERCENT_RE.test(String(v))) {
    throw bad("INVALID_PERCENT", `${field} must be a percentage from 0 to 100 with at most 4 decimals`);
  }
  return v;
}

function str(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== "string") throw bad("INVALID_INPUT", `${field} must be a string, got ${typeOf(v)}`);
  if (v.length < min || v.length > max) {
    throw bad("INVALID_INPUT", `${field} must be ${min}-${max} characters`);
  }
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") throw bad("INVALID_INPUT", `${field} must be a boolean, got ${typeOf(v)}`);
  return v;
}

function arrayOrNull(v: unknown, field: string): unknown[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) throw bad("INVALID_INPUT", `${field} must be an array or null, got ${typeOf(v)}`);
  if (v.length > 1000) throw bad("INVALID_INPUT", `${field} has more than 1000 items`);
  return v;
}

/** An optional reason (audit column: at most 1000 characters). */
export function reasonOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = str(v, "reason", 0, 1000).trim();
  return s === "" ? undefined : s;
}

/** A required, non-blank reason. */
export function requiredReason(v: unknown, why: string): string {
  const r = reasonOf(v);
  if (r === undefined) throw bad("REASON_REQUIRED", `a non-empty reason is required ${why}`);
  return r;
}

/** Validates the writable flag fields present in `body` (others are ignored here). */
export function flagFields(body: Json): FlagFields {
  const out: FlagFields = {};
  for (const f of WRITABLE) {
    if (!(f in body)) continue;
    const v = body[f];
    switch (f) {
      case "description":
        out.description = v === null ? null : str(v, f, 0, 2000);
        break;
      case "enabled":
      case "clientVisible":
        out[f] = bool(v, f);
        break;
      case "adminOverride":
        if (v !== null && v !== "on" && v !== "off") {
          throw bad("INVALID_INPUT", `adminOverride must be "on", "off" or null`);
        }
        out.adminOverride = v;
        break;
      case "rollout":
        out.rollout = percent(v, "rollout");
        break;
      case "salt":
        if (v !== null && (typeof v !== "string" || !SALT_RE.test(v))) {
          throw bad("INVALID_INPUT", `salt must be null or match ${SALT_RE.source}`);
        }
        out.salt = v;
        break;
      case "stickiness":
        out.stickiness = str(v, f, 1, 200);
        break;
      case "rules":
      case "variants":
      case "prerequisites":
      case "schedule":
        out[f] = arrayOrNull(v, f);
        break;
      case "stages": {
        const a = arrayOrNull(v, f);
        if (a === null) {
          out.stages = null;
          break;
        }
        if (a.length < 1 || a.length > 32) throw bad("INVALID_INPUT", "stages must hold 1-32 percentages");
        const nums = a.map((s, i) => percent(s, `stages[${i}]`));
        for (let i = 0; i < nums.length; i++) {
          if (nums[i] <= 0 || (i > 0 && nums[i] <= nums[i - 1])) {
            throw bad("INVALID_INPUT", `stages must be strictly increasing percentages in (0, 100]; see stages[${i}]`);
          }
        }
        out.stages = nums;
        break;
      }
      case "metadata":
        if (!isObject(v)) throw bad("INVALID_INPUT", `metadata must be an object, got ${typeOf(v)}`);
        out.metadata = v;
        break;
    }
  }
  return out;
}

export const CREATE_FIELDS = ["key", "reason", ...WRITABLE] as const;
export const PATCH_FIELDS = ["reason", "force", ...WRITABLE] as const;

/** Parses an RFC 3339 date-time (rejecting impossible calendar dates); null when invalid. */
export function parseRfc3339(v: unknown): Date | null {
  if (typeof v !== "string") return null;
  const m = RFC3339_RE.exec(v);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > days) return null;
  const t = Date.parse(v.toUpperCase().replace(" ", "T"));
  return Number.isNaN(t) ? null : new Date(t);
}

/** A query/body date: RFC 3339, or a plain YYYY-MM-DD (midnight UTC). */
export function dateParam(v: string, field: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(v) ? parseRfc3339(`${v}T00:00:00Z`) : parseRfc3339(v);
  if (!d) throw bad("INVALID_DATE", `${field} must be an RFC 3339 date-time`);
  return d;
}

export interface OverrideInput {
  flag: string;
  unit: string;
  enabled: boolean;
  variant: string | null;
  expiresAt: Date | null;
  reason: string;
}

/** PUT /overrides body. */
export function overrideInput(body: unknown, now = Date.now()): OverrideInput {
  const b = onlyFields(body, ["flag", "unit", "enabled", "variant", "expiresAt", "reason"]);
  const flag = flagKey(b.flag, "flag");
  const unit = str(b.unit, "unit", 1, 200);
  const enabled = bool(b.enabled, "enabled");
  const variant = b.variant === undefined || b.variant === null ? null : str(b.variant, "variant", 1, 200);
  let expiresAt: Date | null = null;
  if (b.expiresAt !== undefined && b.expiresAt !== null) {
    expiresAt = parseRfc3339(b.expiresAt);
    if (!expiresAt) throw bad("INVALID_DATE", "expiresAt must be an RFC 3339 date-time");
    if (expiresAt.getTime() <= now) throw bad("INVALID_DATE", "expiresAt must be in the future");
  }
  const reason = requiredReason(b.reason, "for an override");
  return { flag, unit, enabled, variant, expiresAt, reason };
}

// ---------------------------------------------------------------- rows -> API objects

const iso = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};
const jsonCol = (v: unknown): unknown => (typeof v === "string" ? JSON.parse(v) : v ?? null);

/** A schedule column's steps (`{ at, rollout }`), in time order. */
function scheduleSteps(r: Json): { at: string; rollout: number; t: number }[] {
  const s = jsonCol(r.schedule);
  if (!Array.isArray(s)) return [];
  return s.map((x) =>
    ({ ...(x as Json), t: Date.parse(String((x as Json)?.at)) }) as { at: string; rollout: number; t: number }
  )
    .filter((x) => Number.isFinite(x.t)).sort((a, b) => a.t - b.t);
}

/** What the engine serves as the rollout at `now`: the latest elapsed schedule step's, else the
 *  stored rollout. */
export function effectiveRollout(r: Json, now = Date.now()): number {
  const past = scheduleSteps(r).filter((x) => x.t <= now);
  return past.length ? Number(past[past.length - 1].rollout) : Number(r.rollout_percentage);
}

/** The schedule's steps split at `now` (null when none has elapsed): all, those elapsed, those
 *  ahead (as stored: `{ at, rollout }`). */
export function elapsedSteps(r: Json, now = Date.now()): { all: Json[]; cleared: Json[]; ahead: Json[] } | null {
  const steps = scheduleSteps(r).map(({ t, ...step }) => ({ step: step as Json, t }));
  const cleared = steps.filter((x) => x.t <= now).map((x) => x.step);
  if (cleared.length === 0) return null;
  return { all: steps.map((x) => x.step), cleared, ahead: steps.filter((x) => x.t > now).map((x) => x.step) };
}

/** A feature_flags row as the API's camelCase flag (numeric and int8 normalised), with the
 *  rollout the engine serves now (`effectiveRollout`: a schedule's latest elapsed step wins). */
export function apiFlag(r: Json, now = Date.now()) {
  return {
    key: String(r.key),
    description: (r.description as string | null) ?? null,
    enabled: Boolean(r.enabled),
    adminOverride: (r.admin_override as string | null) ?? null,
    rollout: Number(r.rollout_percentage),
    effectiveRollout: effectiveRollout(r, now),
    salt: (r.salt as string | null) ?? null,
    stickiness: String(r.stickiness ?? "userId"),
    rules: jsonCol(r.rules),
    variants: jsonCol(r.variants),
    prerequisites: jsonCol(r.prerequisites),
    stages: Array.isArray(r.stages) ? r.stages.map(Number) : null,
    schedule: jsonCol(r.schedule),
    clientVisible: Boolean(r.client_visible),
    metadata: jsonCol(r.metadata) ?? {},
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** A user_feature_overrides row, camelCase. */
export function apiOverride(r: Json) {
  return {
    id: String(r.id),
    flag: String(r.flag_key),
    unit: String(r.unit),
    enabled: Boolean(r.enabled),
    variant: (r.variant as string | null) ?? null,
    expiresAt: iso(r.expires_at),
    reason: (r.reason as string | null) ?? null,
    setBy: (r.set_by as string | null) ?? null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** A flag_audit_log row, camelCase. */
export function apiAudit(r: Json) {
  return {
    id: String(r.id),
    at: iso(r.at),
    actor: String(r.actor),
    action: String(r.action),
    flag: (r.flag_key as string | null) ?? null,
    unit: (r.unit as string | null) ?? null,
    before: jsonCol(r.before),
    after: jsonCol(r.after),
    reason: (r.reason as string | null) ?? null,
    configVersion: r.config_version === null || r.config_version === undefined ? null : String(r.config_version),
  };
}

/** SQL parameter for a numeric[] column: an array literal of validated numbers, or null. */
export const stagesParam = (s: number[] | null): string | null => (s === null ? null : `{${s.map(String).join(",")}}`);

// ---------------------------------------------------------------- database errors

/**
 * Maps a Postgres error (by SQLSTATE, platform/pgerror.ts) to a generic HttpError; null when it is
 * not one we expect (the caller rethrows: a 500 INTERNAL that leaks nothing). A unique violation
 * is `conflict`, a foreign key an unknown flag. Never includes the database's text.
 */
export function dbError(
  e: unknown,
  conflict = { code: "CONFLICT", message: "conflicts with an existing row" },
): HttpError | null {
  return dbHttpError(e, { conflict, foreignKey: { status: 404, code: "UNKNOWN_FLAG", message: "unknown flag" } });
}

/** metadata.guard checked by the core: 400 INVALID_THRESHOLD naming the setting. */
export function checkGuardSettings(metadata: Json | undefined): void {
  if (metadata === undefined || metadata.guard === undefined) return;
  try {
    validateRolloutThresholds(metadata.guard);
  } catch (e) {
    if (e instanceof TrimtabError) throw new HttpError(400, e.code, e.message);
    throw e;
  }
}
