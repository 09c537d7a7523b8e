// `ai-whatsapp-webhook`: the WhatsApp Cloud API callback (Meta sends no Supabase JWT:
// verify_jwt = false in supabase/config.toml; the signature is the authentication).
//   GET  /ai-whatsapp-webhook?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...
//        -> 200 <challenge> (text/plain) when the token is WHATSAPP_VERIFY_TOKEN, else 403
//   POST /ai-whatsapp-webhook   X-Hub-Signature-256: sha256=<HMAC-SHA256(raw body, WHATSAPP_APP_SECRET)>
//        -> 401 (MISSING_SIGNATURE | MALFORMED_SIGNATURE | BAD_SIGNATURE), nothing processed;
//           503 EVENTS_NOT_RECORDED when its events could not be recorded (Meta delivers again);
//           else 200 { ok: true, events, recorded } once every valid event is recorded (a
//           malformed one is skipped, never its neighbours). Each message is then answered by the
//           agent (FEATURE_AGENT_CHAT) through the Cloud API, at least once: failures are retried.
//   POST /ai-whatsapp-webhook/retry   (secret key or admin; pg_cron calls it every minute)
//        -> 200 { due, messages, statuses, replies, failures, skipped }: the retry job
// Routing only; see _shared/agent/agent_webhooks.ts.
import {
  afterResponse,
  processWhatsApp,
  recordWhatsApp,
  retryWhatsApp,
  verifyWhatsApp,
} from "../_shared/agent/agent_webhooks.ts";
import { requireAdmin } from "../_shared/platform/auth.ts";
import { env } from "../_shared/platform/env.ts";
import { allowMethods, handle, HttpError, json, serve } from "../_shared/platform/http.ts";
import { verificationResponse } from "../_shared/agent/whatsapp.ts";

const handler = handle(async (req, ctx) => {
  const url = new URL(req.url);
  if (/^\/ai-whatsapp-webhook\/retry\/?$/.test(url.pathname)) {
    const bad = allowMethods(req, ["POST"]);
    if (bad) return bad;
    await requireAdmin(req);
    return json(200, await retryWhatsApp(ctx));
  }
  const bad = allowMethods(req, ["GET", "POST"]);
  if (bad) return bad;
  if (!/^\/ai-whatsapp-webhook\/?$/.test(url.pathname)) throw new HttpError(404, "NOT_FOUND", "no such route");
  if (req.method !== "POST") {
    const res = await verificationResponse(url, env("WHATSAPP_VERIFY_TOKEN"));
    ctx.log.info(res.ok ? "webhook verified" : "webhook verification refused");
    return res;
  }
  const events = await verifyWhatsApp(req, ctx);
  const recorded = await recordWhatsApp(events, ctx);
  const mode = await afterResponse(processWhatsApp(recorded, ctx));
  return json(200, { ok: true, events: events.length, recorded: recorded.length, mode });
}, { name: "ai-whatsapp-webhook" });

export default handler;
serve(handler);
