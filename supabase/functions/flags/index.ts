// `flags`: evaluates flags for the caller on the server.
//
//   GET  /flags                  every flag for the caller (identity from the JWT)
//   GET  /flags?flags=a,b        only those (unknown key: 404 UNKNOWN_FLAG)
//   GET  /flags?snapshot=1       the browser snapshot: client-visible flags and the caller's own
//                                overrides, with an ETag; If-None-Match answers 304
//   POST /flags                  service role only: { context } or { contexts: [...] }, optional flags
//
// Every answer carries x-trimtab-version, x-trimtab-stale and x-trimtab-snapshot-age (ms); when the
// database is unreachable the last known good snapshot serves with x-trimtab-stale: true.
import { authEnv, identify, type Identity } from "../_shared/platform/auth.ts";
import { configHeaders, type ConfigView, currentConfig } from "../_shared/flags/config.ts";
import { contextOf, evaluateFor, keysParam, notModified, parseEvalRequest, snapshotBody } from "../_shared/flags/evaluate.ts";
import { allowMethods, handle, HttpError, json, readJson, serve } from "../_shared/platform/http.ts";

async function caller(req: Request): Promise<Identity> {
  const id = await identify(req, await authEnv());
  if (!id.ok) throw new HttpError(401, id.error.code, id.error.message);
  return id.value;
}

async function get(req: Request, view: ConfigView, id: Identity): Promise<Response> {
  const url = new URL(req.url);
  const headers = configHeaders(view);
  if (url.searchParams.has("snapshot")) {
    const { body, etag } = await snapshotBody(view.config, id.sub);
    const h = { ...headers, etag, "cache-control": "private, no-cache", vary: "Authorization" };
    if (notModified(req, etag)) return new Response(null, { status: 304, headers: h });
    return new Response(body, { status: 200, headers: { ...h, "content-type": "application/json; charset=utf-8" } });
  }
  const flags = evaluateFor(view.config, contextOf(id), keysParam(url, view.config));
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

const handler = handle(async (req) => {
  const bad = allowMethods(req, ["GET", "POST"]);
  if (bad) return bad;
  if (!/^\/flags\/?$/.test(new URL(req.url).pathname)) throw new HttpError(404, "NOT_FOUND", "no such route");
  const id = await caller(req);
  const view = await currentConfig();
  return req.method === "POST" ? await post(req, view, id) : await get(req, view, id);
}, { name: "flags" });

export default handler;
serve(handler);
