// `flags`: evaluates flags for the caller on the server.
//
//   GET  /flags                  every flag for the caller (identity from the JWT)
//   GET  /flags?flags=a,b        only those (unknown key: 404 UNKNOWN_FLAG)
//   GET  /flags?snapshot=1       the browser snapshot: client-visible flags and the caller's own
//                                overrides, with an ETag; If-None-Match answers 304
//   POST /flags                  service role only: { context } or { contexts: [...] }, optional flags
//   POST /flags/events           a user's own OpenFeature tracking events (_shared/flags/events.ts)
//
// Every answer carries x-trimtab-version, x-trimtab-stale and x-trimtab-snapshot-age (ms); when the
// database is unreachable the last known good snapshot serves with x-trimtab-stale: true.
import { flagsRequest } from "../_shared/flags/api.ts";
import { eventsRequest } from "../_shared/flags/events.ts";
import { allowMethods, handle, HttpError, serve } from "../_shared/platform/http.ts";

const handler = handle((req) => {
  const path = new URL(req.url).pathname;
  if (/^\/flags\/events\/?$/.test(path)) return allowMethods(req, ["POST"]) ?? eventsRequest(req);
  const bad = allowMethods(req, ["GET", "POST"]);
  if (bad) return bad;
  if (!/^\/flags\/?$/.test(path)) throw new HttpError(404, "NOT_FOUND", "no such route");
  return flagsRequest(req);
}, { name: "flags" });

export default handler;
serve(handler);
