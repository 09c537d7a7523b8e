// `health`: is the database reachable, how old is the flag snapshot this isolate serves, which
// version runs. 200 when the database answers and a snapshot is loaded, else 503 (same body).
// Needs no token (verify_jwt = false); it reveals no flag names, no SQL and no error text.
import { healthReport } from "../_shared/flags/health.ts";
import { allowMethods, handle, serve } from "../_shared/platform/http.ts";

const handler = handle((req) => allowMethods(req, ["GET"]) ?? healthReport(), { name: "health" });

export default handler;
serve(handler);
