// `api`: the plans' legacy /api/... routes, deprecated, answering from their successors while
// clients move (_shared/examples/legacy_api.ts; the wrapper is _shared/platform/deprecated.ts).
//   GET /api/feature-status[?feature=KEY]  (admin or service role; successor: /rollout-status)
// On Supabase: /functions/v1/api/feature-status; the local stack also serves /api/feature-status.
import { handle, serve } from "../_shared/platform/http.ts";
import { legacyApi } from "../_shared/examples/legacy_api.ts";

const handler = handle(legacyApi, { name: "api" });

export default handler;
serve(handler);
