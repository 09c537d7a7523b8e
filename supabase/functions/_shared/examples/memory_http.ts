//! The `memory` edge function's routes (its index.ts routes here):
//!   POST /memory/messages      { sessionId, role, content, userId? } -> 201 { ok, id, dual, newError? }
//!   GET  /memory/context       ?session=&limit=&user=  -> 200 { messages, summary, total, path, fallback?, why? }
//!   GET  /memory/consistency   ?user=&limit=  (admin)  -> 200 { conversations, consistent, mismatched, mismatches }
//!   POST /memory/repair        { userId? }    (admin)  -> 200 { repaired, remaining }
//! A user reads and writes their own memory (the token's `sub`); the service role and admins name
//! the user (`userId`, `?user=`; an admin without one is themselves). Anonymous callers: 401.
//! Input is checked before the database is touched: 400 INVALID_INPUT / UNKNOWN_FIELD naming the
//! field; a user naming another user: 403 FORBIDDEN.
import { type Identity, isAdmin, requireAdmin, requireCaller } from "../platform/auth.ts";
import { allowMethods, type Ctx, HttpError, json, readJson } from "../platform/http.ts";
import { getDb } from "../platform/store.ts";
import { consistency, recall, remember, repair, type Role } from "./memory.ts";

const SESSION = /^[A-Za-z0-9._:-]{1,128}$/;
const ROLES = new Set(["user", "assistant", "system"]);

const bad = (field: string, what: string) => new HttpError(400, "INVALID_INPUT", `${field} ${what}`);

function userIdOk(v: unknown): v is string {
  // deno-lint-ignore no-control-regex
  return typeof v === "string" && v.length >= 1 && v.length <= 200 && !/[\u0000-\u001f]/.test(v);
}

/** The user whose memory the caller touches: their own, or the one an admin or the service names. */
function subject(id: Identity, named: unknown): string {
  if (id.kind === "anon") throw new HttpError(401, "UNAUTHORIZED", "a user access token or a secret key is required");
  if (named !== undefined && named !== null && !userIdOk(named)) throw bad("userId", "must be 1-200 characters");
  if (isAdmin(id)) {
    const u = (named as string | undefined) ?? id.sub;
    if (!u) throw bad("userId", "is required for the service role");
    return u;
  }
  if (named !== undefined && named !== null && named !== id.sub) {
    throw new HttpError(403, "FORBIDDEN", "a user reads and writes only their own memory");
  }
  return id.sub!;
}

function limitOf(text: string | null, dflt: number, max: number, field: string): number {
  if (text === null) return dflt;
  const n = Number(text);
  if (!/^\d{1,4}$/.test(text) || n < 1 || n > max) throw bad(field, `must be an integer from 1 to ${max}`);
  return n;
}

async function postMessage(req: Request, ctx: Ctx): Promise<Response> {
  const id = await requireCaller(req);
  const body = await readJson<Record<string, unknown>>(req, 16 * 1024);
  if (!body.ok) return body.response;
  const b = body.value;
  if (!b || typeof b !== "object" || Array.isArray(b)) throw bad("body", "must be a JSON object");
  for (const k of Object.keys(b)) {
    if (!["sessionId", "role", "content", "userId"].includes(k)) {
      throw new HttpError(400, "UNKNOWN_FIELD", `unknown field "${k.slice(0, 40)}"`);
    }
  }
  if (typeof b.sessionId !== "string" || !SESSION.test(b.sessionId)) {
    throw bad("sessionId", "must be 1-128 characters of [A-Za-z0-9._:-]");
  }
  if (typeof b.role !== "string" || !ROLES.has(b.role)) throw bad("role", "must be user, assistant or system");
  if (typeof b.content !== "string" || b.content.trim() === "" || b.content.length > 8000) {
    throw bad("content", "must be 1-8000 characters");
  }
  const userId = subject(id, b.userId);
  const r = await remember(await getDb(), {
    userId,
    sessionId: b.sessionId,
    role: b.role as Role,
    content: b.content,
  }, ctx.log);
  return json(201, { ok: true, ...r });
}

async function getContext(req: Request, ctx: Ctx): Promise<Response> {
  const id = await requireCaller(req);
  const url = new URL(req.url);
  const session = url.searchParams.get("session");
  if (session === null || !SESSION.test(session)) throw bad("session", "must be 1-128 characters of [A-Za-z0-9._:-]");
  const limit = limitOf(url.searchParams.get("limit"), 20, 100, "limit");
  const userId = subject(id, url.searchParams.get("user") ?? undefined);
  const r = await recall(await getDb(), { userId, sessionId: session, limit }, ctx);
  return json(200, {
    ...r.value,
    path: r.path,
    ...(r.fallback ? { fallback: r.fallback } : {}),
    ...(r.why ? { why: r.why } : {}),
  });
}

/** Routes one request of the `memory` function. */
export async function memoryRoutes(req: Request, ctx: Ctx): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname.replace(/\/+$/, "");
  const route = (methods: string[]) => allowMethods(req, methods);
  switch (path) {
    case "/memory/messages":
      return route(["POST"]) ?? await postMessage(req, ctx);
    case "/memory/context":
      return route(["GET"]) ?? await getContext(req, ctx);
    case "/memory/consistency": {
      const refused = route(["GET"]);
      if (refused) return refused;
      await requireAdmin(req);
      const user = url.searchParams.get("user");
      if (user !== null && !userIdOk(user)) throw bad("user", "must be 1-200 characters");
      const limit = limitOf(url.searchParams.get("limit"), 100, 1000, "limit");
      return json(200, await consistency(await getDb(), { userId: user, limit }));
    }
    case "/memory/repair": {
      const refused = route(["POST"]);
      if (refused) return refused;
      await requireAdmin(req);
      const body = await readJson<Record<string, unknown>>(req, 4096, { optional: true });
      if (!body.ok) return body.response;
      const b = body.value ?? {};
      if (typeof b !== "object" || Array.isArray(b)) throw bad("body", "must be a JSON object");
      for (const k of Object.keys(b)) {
        if (k !== "userId") throw new HttpError(400, "UNKNOWN_FIELD", `unknown field "${k.slice(0, 40)}"`);
      }
      if (b.userId !== undefined && !userIdOk(b.userId)) throw bad("userId", "must be 1-200 characters");
      return json(200, await repair(await getDb(), { userId: (b.userId as string | undefined) ?? null }));
    }
    default:
      throw new HttpError(404, "NOT_FOUND", "no such route");
  }
}
