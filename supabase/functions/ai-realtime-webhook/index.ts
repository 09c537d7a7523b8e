// `ai-realtime-webhook`: OpenAI's webhooks (Standard Webhooks: webhook-id, webhook-timestamp,
// webhook-signature, signed with OPENAI_WEBHOOK_SECRET "whsec_..."; no Supabase JWT, so
// verify_jwt = false in supabase/config.toml).
//   POST /ai-realtime-webhook
//        -> 401 (MISSING_HEADER | INVALID_HEADER | TIMESTAMP_TOO_OLD | TIMESTAMP_TOO_NEW |
//           MALFORMED_SIGNATURE | BAD_SIGNATURE),
//           nothing processed; 503 EVENTS_NOT_RECORDED when the delivery could not be recorded
//           (OpenAI delivers again); else 200 { ok: true }. Deduped by webhook-id. On
//           `realtime.call.incoming` the call is accepted through OpenAI's API
//           (POST /v1/realtime/calls/{call_id}/accept) when FEATURE_AGENT_VOICE is on for the caller,
//           else rejected (.../reject). Other event types are logged and ignored.
// Routing only; see _shared/agent_webhooks.ts.
import { afterResponse, claimOpenAI, processOpenAI, verifyOpenAI } from "../_shared/agent/agent_webhooks.ts";
import { allowMethods, handle, HttpError, json, serve } from "../_shared/platform/http.ts";

const handler = handle(async (req, ctx) => {
  const bad = allowMethods(req, ["POST"]);
  if (bad) return bad;
  if (!/^\/ai-realtime-webhook\/?$/.test(new URL(req.url).pathname)) {
    throw new HttpError(404, "NOT_FOUND", "no such route");
  }
  const delivery = await verifyOpenAI(req, ctx);
  const fresh = delivery !== null && await claimOpenAI(delivery, ctx);
  const mode = fresh ? await afterResponse(processOpenAI(delivery, ctx)) : "none";
  return json(200, { ok: true, mode });
}, { name: "ai-realtime-webhook" });

export default handler;
serve(handler);
