//! The `flags` function's answers (its index.ts routes here): GET evaluates every flag (or
//! `?flags=a,b`) for the caller, whose context comes from the verified token only (an anonymous
//! caller or a signed-in user: the client-visible flags only, as row-level security shows anon
//! and authenticated; admins and the service role: every flag); GET
//! `?snapshot=1` is the browser snapshot with its ETag (304 on If-None-Match); POST evaluates
//! given contexts for the service role. Every answer carries x-trimtab-version, x-trimtab-stale and
//! x-trimtab-snapshot-age.
import { type Identity, requireCaller } from "../platform/auth.ts";
import { HttpError, json, readJson } from "../platform/http.ts";
import { configHeaders, type ConfigView, currentConfig } from "./config.ts";
import { contextOf, evaluateFor, keysParam, notModified, parseEvalRequest, snapshotBody } from "./evaluate.ts";

async function get(req: Request, view: ConfigView, id: Identity): Promise<Response> {
  const url = new URL(req.url);
  const headers = configHeaders(view);
  if (url.searchParams.has("snapshot")) {
    const { body, etag } = await snapshotBody(view.config, id.sub);
    const h = { ...headers, etag, "cache-control": "private, no-cache", vary: "Authorization" };
    if (notModified(req, etag)) return new Response(null, { status: 304, headers: h });
    return new Response(body, { status: 200, headers: { ...h, "content-type": "application/json; charset=utf-8" } });
  }
  // An anonymous caller (a publishable key, or nothing) or a signed-in user sees what row-level
  // security shows anon and authenticated: the client-visible flags, never the others' keys or
  // states (an answer that reaches a browser). Admins and the service role see every flag.
  const limited = id.kind === "anon" || id.kind === "user";
  const keys = keysParam(url, view.config, limited ? view.config.clientKeys : view.config.keys);
  const flags = evaluateFor(
    view.config,
    contextOf(id),
    keys ?? (limited ? view.config.clientFlags.map((f) => f.key) : null),
  );
  return json(200, { version: view.config.version, stale: view.stale, flags }, headers);
}

async function post(req: Request, view: ConfigView, id: Identity): Promise<Response> {
  if (id.kind === "anon") throw new HttpError(401, "UNAUTHORIZED", "a service-role token is required");
  if (id.kind !== "service") {
    throw new HttpError(403, "FORBIDDEN", "only the service role may evaluate arbitrary contexts");
  }
  const body = await readJson(req, 1024 * 1024);
  if (!body.ok) return body.response;
  const r = parseEvalRequest(body.value, view.config);
  const head = { version: view.config.version, stale: view.stale };
  const headers = configHeaders(view);
  if (!r.batch) return json(200, { ...head, flags: evaluateFor(view.config, r.contexts[0], r.keys) }, headers);
  const results = r.contexts.map((c) => evaluateFor(view.config, c, r.keys));
  return json(200, { ...head, results }, headers);
}

/** GET or POST /flags for this request's caller. */
export async function flagsRequest(req: Request): Promise<Response> {
  const id = await requireCaller(req);
  const view = await currentConfig();
  return req.method === "POST" ? await post(req, view, id) : await get(req, view, id);
}
