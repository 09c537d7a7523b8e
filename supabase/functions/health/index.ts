// STUB health function: proves the edge stack and the Wasm load, without a database.
// The real one (issue 3) also reports database reachability and snapshot age; it needs the DB
// layer (_shared/db.ts) and replaces this body. See supabase/NOTES-edge.md.
import { allowMethods, handle, json, serve } from "../_shared/http.ts";
import { bucket } from "../_shared/trimtab.ts";
import { VERSION } from "../_shared/version.ts";

const handler = handle((req) => {
  const bad = allowMethods(req, ["GET"]);
  if (bad) return bad;
  return json(200, { ok: true, wasm: bucket("a", "b"), version: VERSION, stub: true });
}, { name: "health" });

export default handler;
serve(handler);
