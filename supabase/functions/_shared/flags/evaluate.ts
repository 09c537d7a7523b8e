// Server-side evaluation for the `flags` function: the evaluation context a caller gets from its
// JWT, the batch body service callers may POST, and the browser snapshot with its ETag.
import type { Identity } from "../platform/auth.ts";
import { clientSnapshot, type Config } from "./config.ts";
import { HttpError } from "../platform/http.ts";
import { contextFromClaims, type Evaluation } from "../platform/trimtab.ts";

/** Most contexts one POST may evaluate. */
export const MAX_CONTEXTS = 1000;
/** Most flag keys one request may name. */
export const MAX_KEYS = 200;

type Ctx = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The context of a caller, from its verified token only (js/claims.js, shared with the browser
 * client): `userId` is `sub`, `email` the token's email, and the attributes an admin or service
 * stored in `app_metadata.trimtab`. Anonymous callers have no unit (sticky flags: `MISSING_UNIT`).
 */
export function contextOf(id: Identity): Ctx {
  return contextFromClaims(id.claims);
}

/** Flag keys from `?flags=a,b` (null: all); unknown keys are a 404. `visible` (an anonymous
 *  caller's: the client-visible flags) hides the rest: naming one is the same 404. */
export function keysParam(url: URL, config: Config, visible: ReadonlySet<string> = config.keys): string[] | null {
  const raw = url.searchParams.get("flags");
  if (raw === null) return null;
  const keys = raw.split(",").map((s) => s.trim()).filter(Boolean);
  return checkKeys(keys, visible);
}

function checkKeys(keys: unknown[], visible: ReadonlySet<string>): string[] {
  if (keys.length === 0) throw new HttpError(400, "INVALID_INPUT", "flags must name at least one flag");
  if (keys.length > MAX_KEYS) throw new HttpError(400, "INVALID_INPUT", `at most ${MAX_KEYS} flags per request`);
  for (const k of keys) {
    if (typeof k !== "string") throw new HttpError(400, "INVALID_INPUT", "flags must be strings");
    if (!visible.has(k)) throw new HttpError(404, "UNKNOWN_FLAG", `unknown flag: ${k.slice(0, 200)}`);
  }
  return keys as string[];
}

/** Evaluates `keys` (or every flag) for one context. */
export function evaluateFor(config: Config, ctx: Ctx, keys: string[] | null): Record<string, Evaluation> {
  if (keys === null) return config.engine.evaluateAll(ctx);
  const out: Record<string, Evaluation> = {};
  for (const k of keys) out[k] = config.engine.evaluate(k, ctx);
  return out;
}

/** A service caller's POST body: `{ context }` or `{ contexts: [...] }`, optional `flags`. */
export interface EvalRequest {
  contexts: Ctx[];
  batch: boolean;
  keys: string[] | null;
}

const BODY_FIELDS = new Set(["context", "contexts", "flags"]);

/** Validates a POST body (400 with a stable code on anything off). */
export function parseEvalRequest(body: unknown, config: Config): EvalRequest {
  if (!isObject(body)) throw new HttpError(400, "INVALID_INPUT", "body must be a JSON object");
  for (const k of Object.keys(body)) {
    if (!BODY_FIELDS.has(k)) throw new HttpError(400, "UNKNOWN_FIELD", `unknown field: ${k.slice(0, 100)}`);
  }
  const hasOne = "context" in body, hasMany = "contexts" in body;
  if (hasOne === hasMany) throw new HttpError(400, "INVALID_INPUT", "give exactly one of context or contexts");
  const list = hasOne ? [body.context] : body.contexts;
  if (!Array.isArray(list)) throw new HttpError(400, "INVALID_INPUT", "contexts must be an array");
  if (list.length > MAX_CONTEXTS) throw new HttpError(400, "INVALID_INPUT", `at most ${MAX_CONTEXTS} contexts`);
  list.forEach((c, i) => checkContext(c, hasOne ? "context" : `contexts[${i}]`));
  let keys: string[] | null = null;
  if ("flags" in body) {
    if (!Array.isArray(body.flags)) throw new HttpError(400, "INVALID_INPUT", "flags must be an array of keys");
    keys = checkKeys(body.flags, config.keys);
  }
  return { contexts: list as Ctx[], batch: hasMany, keys };
}

function checkContext(c: unknown, where: string): void {
  if (!isObject(c)) throw new HttpError(400, "INVALID_CONTEXT", `${where} must be an object`);
  if ("now" in c && c.now !== undefined) {
    const t = typeof c.now === "number" ? c.now : typeof c.now === "string" ? Date.parse(c.now) : NaN;
    if (!Number.isFinite(t)) {
      throw new HttpError(400, "INVALID_DATE", `${where}.now must be an RFC 3339 date or epoch ms`);
    }
  }
}

// ---------------------------------------------------------------- browser snapshot

const enc = new TextEncoder();

/** The browser snapshot body for `unit` and its strong ETag (a digest of the body). */
export async function snapshotBody(config: Config, unit: string | undefined): Promise<{ body: string; etag: string }> {
  const body = JSON.stringify(clientSnapshot(config, unit));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(body)));
  let hex = "";
  for (let i = 0; i < 12; i++) hex += digest[i].toString(16).padStart(2, "0");
  return { body, etag: `"${config.version}-${hex}"` };
}

/** True when `If-None-Match` names `etag` (weak comparison, `*` included). */
export function notModified(req: Request, etag: string): boolean {
  const inm = req.headers.get("if-none-match");
  if (!inm) return false;
  const bare = etag.replace(/^W\//, "");
  return inm.split(",").some((t) => {
    const v = t.trim();
    return v === "*" || v.replace(/^W\//, "") === bare;
  });
}
