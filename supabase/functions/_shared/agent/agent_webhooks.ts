// The work behind ai-whatsapp-webhook and ai-realtime-webhook (their index.ts files only route).
//
// Both: read the RAW body bytes (capped), verify the signature over exactly those bytes in the
// Wasm, and only then parse. A refused signature is a 401 with nothing processed (no
// webhook_events row, nothing sent). Once the signature is valid the answer is 200, whatever
// happens next: processing runs in EdgeRuntime.waitUntil when the runtime offers it (the answer
// goes out at once), else before answering. Failures are logged with the request's correlation id;
// the WhatsApp user gets a friendly "sorry, try again" when a reply can still be sent.
//
// Each event is claimed once (dedup.ts: the in-isolate window, then INSERT ... ON CONFLICT DO
// NOTHING into webhook_events): WhatsApp messages by wamid, statuses by (wamid, status), OpenAI
// deliveries by webhook-id. Logs never carry phone numbers or wamids (a wamid encodes the number);
// the webhook_events row links event id and correlation id.
import { e164, REPLIES, runAgent } from "./agent.ts";
import { claimEvent } from "./dedup.ts";
import { feature } from "./features.ts";
import { type Ctx, HttpError, readBytes } from "../platform/http.ts";
import type { Logger } from "../platform/log.ts";
import { legacyForced } from "../safety/ai_guard.ts";
import { acceptCall, rejectCall } from "../safety/openai.ts";
import { getDb } from "../platform/store.ts";
import { verifyMetaSignature, verifyStandardWebhook, type WhatsAppEvent, whatsappEvents } from "../platform/trimtab.ts";
import { sendText } from "./whatsapp.ts";
import { env } from "../platform/env.ts";

export const WHATSAPP_MAX_BODY = 1024 * 1024;
export const OPENAI_MAX_BODY = 256 * 1024;

/** Signature failures answered 401 (anything else from the verifier is a server-side problem). */
const REFUSED = new Set([
  "MISSING_SIGNATURE",
  "MALFORMED_SIGNATURE",
  "BAD_SIGNATURE",
  "MISSING_HEADER",
  "INVALID_HEADER",
  "TIMESTAMP_TOO_OLD",
  "TIMESTAMP_TOO_NEW",
  "TIMESTAMP_OUT_OF_TOLERANCE",
]);

/** Runs a Wasm verifier; a refused signature becomes a 401 with the verifier's code. */
function verified(fn: () => void, log: Logger, provider: string): void {
  try {
    fn();
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === "string" && REFUSED.has(code)) {
      log.warn("webhook signature refused", { provider, code });
      throw new HttpError(401, code, "webhook signature verification failed");
    }
    log.error("webhook verifier failed", { provider, err: e });
    throw new HttpError(503, "WEBHOOK_NOT_CONFIGURED", "webhook verification is not configured");
  }
}

function notConfigured(log: Logger, what: string): never {
  log.error("webhook not configured", { missing: what });
  throw new HttpError(503, "WEBHOOK_NOT_CONFIGURED", "webhook verification is not configured");
}

/**
 * Keeps `work` running after the answer when the edge runtime supports it (Supabase's
 * EdgeRuntime.waitUntil); otherwise waits for it. `work` must not reject.
 */
export async function afterResponse(work: Promise<void>): Promise<"background" | "inline"> {
  const rt = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } }).EdgeRuntime;
  if (typeof rt?.waitUntil === "function") {
    rt.waitUntil(work);
    return "background";
  }
  await work;
  return "inline";
}

// ---------------------------------------------------------------- WhatsApp

/** Verifies a WhatsApp delivery and returns its events (401 on a refused signature). A payload
 *  that is signed but malformed yields no events (logged): Meta must not retry it. */
export async function verifyWhatsApp(req: Request, ctx: Ctx): Promise<WhatsAppEvent[]> {
  const secret = env("WHATSAPP_APP_SECRET");
  if (!secret) notConfigured(ctx.log, "WHATSAPP_APP_SECRET");
  const raw = await readBytes(req, WHATSAPP_MAX_BODY);
  verified(() => verifyMetaSignature(secret, raw, req.headers.get("x-hub-signature-256")), ctx.log, "whatsapp");
  try {
    return whatsappEvents(JSON.parse(new TextDecoder().decode(raw)));
  } catch (e) {
    ctx.log.error("malformed whatsapp delivery", { code: (e as { code?: string })?.code ?? "BAD_JSON" });
    return [];
  }
}

/** Processes the events of one verified delivery, in order. Never rejects. */
export async function processWhatsApp(events: WhatsAppEvent[], ctx: Ctx): Promise<void> {
  const stats = { messages: 0, statuses: 0, duplicates: 0, replies: 0, failures: 0 };
  for (const ev of events) {
    try {
      await processOne(ev, ctx, stats);
    } catch (e) {
      stats.failures++;
      ctx.log.error("whatsapp event failed", { kind: ev.kind, err: e });
      if (ev.kind === "message") await sendSafely(ev, REPLIES.failed, ctx, { pipeline: "none", failed: true });
    }
  }
  ctx.log.info("whatsapp delivery processed", { events: events.length, ...stats });
}

async function processOne(ev: WhatsAppEvent, ctx: Ctx, stats: Record<string, number>): Promise<void> {
  const db = await getDb();
  const claim = await claimEvent(db, "whatsapp", ev.dedupId, ctx.correlationId);
  if (claim !== "new") {
    stats.duplicates++;
    ctx.log.info("duplicate event skipped", { kind: ev.kind, layer: claim });
    return;
  }
  if (ev.kind === "status") {
    stats.statuses++;
    ctx.log.info("message status", { status: ev.status });
    return;
  }
  stats.messages++;
  let phone: string;
  try {
    phone = e164(ev.from);
  } catch {
    ctx.log.warn("message from an invalid phone number ignored", { type: ev.type });
    return;
  }
  const f = await feature("FEATURE_AGENT_CHAT", phone);
  if (!f.on) {
    ctx.log.info("feature disabled", { feature: "FEATURE_AGENT_CHAT", why: f.why });
    return;
  }
  if (ev.type !== "text" || !ev.text) {
    if (await sendSafely(ev, REPLIES.notText, ctx, { pipeline: "none" })) stats.replies++;
    return;
  }
  const reply = await runAgent({ phone, text: ev.text, correlationId: ctx.correlationId, log: ctx.log, db });
  const meta = {
    pipeline: reply.pipeline,
    ...(reply.fallback ? { fallback: reply.fallback } : {}),
    ...(reply.rateLimited ? { rateLimited: true } : {}),
    ...(reply.cached ? { cached: true } : {}),
  };
  if (await sendSafely(ev, reply.text, ctx, meta)) stats.replies++;
}

/** Sends a reply; logs and returns false on failure. The metadata (correlation id, pipeline,
 *  fallback, cached) travels as biz_opaque_callback_data, which Meta echoes in the message's statuses. */
async function sendSafely(
  ev: WhatsAppEvent,
  body: string,
  ctx: Ctx,
  meta: Record<string, unknown>,
): Promise<boolean> {
  if (ev.kind !== "message") return false;
  try {
    await sendText({
      phoneNumberId: ev.phoneNumberId,
      to: ev.from,
      body,
      callbackData: JSON.stringify({ cid: ctx.correlationId, ...meta }),
    });
    return true;
  } catch (e) {
    ctx.log.error("reply not sent", {
      code: (e as { code?: string })?.code,
      status: (e as { status?: number })?.status,
    });
    return false;
  }
}

// ---------------------------------------------------------------- OpenAI Realtime (SIP)

export interface RealtimeDelivery {
  webhookId: string;
  event: { type?: unknown; data?: { call_id?: unknown; sip_headers?: unknown } };
}

/** Verifies an OpenAI (Standard Webhooks) delivery: 401 on a refused signature. */
export async function verifyOpenAI(req: Request, ctx: Ctx): Promise<RealtimeDelivery | null> {
  const secret = env("OPENAI_WEBHOOK_SECRET");
  if (!secret) notConfigured(ctx.log, "OPENAI_WEBHOOK_SECRET");
  const raw = await readBytes(req, OPENAI_MAX_BODY);
  const headers = {
    id: req.headers.get("webhook-id"),
    timestamp: req.headers.get("webhook-timestamp"),
    signature: req.headers.get("webhook-signature"),
  };
  verified(() => verifyStandardWebhook(secret, headers, raw), ctx.log, "openai");
  try {
    const event = JSON.parse(new TextDecoder().decode(raw));
    if (event === null || typeof event !== "object" || Array.isArray(event)) throw new Error("not an object");
    return { webhookId: headers.id!, event };
  } catch {
    ctx.log.error("malformed openai delivery", { code: "MALFORMED_PAYLOAD" });
    return null;
  }
}

/** The caller's number from the SIP From header, if it carries an E.164 one. */
export function sipCaller(sipHeaders: unknown): string | undefined {
  if (!Array.isArray(sipHeaders)) return undefined;
  const from = sipHeaders.find((h) => typeof h?.name === "string" && h.name.toLowerCase() === "from");
  const m = typeof from?.value === "string" ? /sips?:(\+?\d{7,15})@/.exec(from.value) : null;
  if (!m) return undefined;
  try {
    return e164(m[1]);
  } catch {
    return undefined;
  }
}

const DEFAULT_VOICE_INSTRUCTIONS =
  "You are the Trimtab voice assistant. Greet the caller briefly, help with vouchers, and keep answers short.";

/** Handles one verified OpenAI delivery: accepts or rejects an incoming call. Never rejects. */
export async function processOpenAI(d: RealtimeDelivery, ctx: Ctx): Promise<void> {
  try {
    const claim = await claimEvent(await getDb(), "openai", d.webhookId, ctx.correlationId);
    if (claim !== "new") {
      ctx.log.info("duplicate event skipped", { layer: claim });
      return;
    }
    const type = typeof d.event.type === "string" ? d.event.type.slice(0, 100) : "?";
    if (type !== "realtime.call.incoming") {
      ctx.log.info("event ignored", { type });
      return;
    }
    const callId = d.event.data?.call_id;
    if (typeof callId !== "string" || callId === "") {
      ctx.log.error("incoming call without call_id");
      return;
    }
    const caller = sipCaller(d.event.data?.sip_headers);
    const f = await feature("FEATURE_AGENT_VOICE", caller);
    if (f.on && (await legacyForced(caller))) {
      ctx.log.info("AI_PIPELINE is legacy: no AI voice", { feature: "FEATURE_AGENT_VOICE" });
      await rejectCall(callId);
      ctx.log.info("call rejected");
    } else if (f.on) {
      await acceptCall(callId, { instructions: env("AGENT_VOICE_INSTRUCTIONS") ?? DEFAULT_VOICE_INSTRUCTIONS });
      ctx.log.info("call accepted");
    } else {
      ctx.log.info("feature disabled", { feature: "FEATURE_AGENT_VOICE", why: f.why });
      await rejectCall(callId);
      ctx.log.info("call rejected");
    }
  } catch (e) {
    ctx.log.error("openai event failed", { err: e });
  }
}
