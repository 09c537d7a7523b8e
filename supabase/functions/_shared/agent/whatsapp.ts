// WhatsApp Cloud API: the webhook verification handshake and the send-message call.
//
// Handshake (GET on the callback URL, when the webhook is configured in the Meta app dashboard):
//   ?hub.mode=subscribe&hub.verify_token=<the token you chose>&hub.challenge=<number>
// answered 200 with the challenge as the plain-text body when the token matches
// (WHATSAPP_VERIFY_TOKEN, compared in constant time), 403 otherwise.
//
// Sending (a reply to an inbound message):
//   POST {WHATSAPP_API_BASE}/{WHATSAPP_API_VERSION}/{phone_number_id}/messages
//   Authorization: Bearer {WHATSAPP_ACCESS_TOKEN}
//   { "messaging_product": "whatsapp", "recipient_type": "individual", "to": "<wa_id>",
//     "type": "text", "text": { "body": "..." }, "biz_opaque_callback_data": "..." }
// answered { messaging_product, contacts: [{ input, wa_id }], messages: [{ id: "wamid..." }] }, or
// an error { error: { message, type, code, fbtrace_id } }. biz_opaque_callback_data (at most 512
// characters) is echoed back by Meta in the status webhooks of that message: the agent puts the
// correlation id and the pipeline that answered there.
//
// Settings are read from the environment on every call (cheap, and tests can change them):
//   WHATSAPP_API_BASE (default https://graph.facebook.com), WHATSAPP_API_VERSION (default v21.0),
//   WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID (used when an event names none),
//   WHATSAPP_SEND_TIMEOUT_MS (default 5000).
import { timingSafeEqual } from "../platform/auth.ts";
import { env, envPositive } from "../platform/env.ts";

export interface WhatsAppSettings {
  base: string;
  version: string;
  accessToken?: string;
  phoneNumberId?: string;
  timeoutMs: number;
}

/** The Cloud API settings from the environment. */
export function whatsappSettings(): WhatsAppSettings {
  return {
    base: (env("WHATSAPP_API_BASE") ?? "").replace(/\/+$/, ""),
    version: env("WHATSAPP_API_VERSION") ?? "",
    accessToken: env("WHATSAPP_ACCESS_TOKEN"),
    phoneNumberId: env("WHATSAPP_PHONE_NUMBER_ID"),
    timeoutMs: envPositive("WHATSAPP_SEND_TIMEOUT_MS"),
  };
}

/**
 * Answers Meta's GET verification request: 200 with `hub.challenge` as text/plain when
 * `hub.mode` is "subscribe" and `hub.verify_token` equals `verifyToken`; 403 otherwise (also when
 * no verify token is configured).
 */
export async function verificationResponse(url: URL, verifyToken: string | undefined): Promise<Response> {
  const mode = url.searchParams.get("hub.mode");
  const token = url.searchParams.get("hub.verify_token");
  const challenge = url.searchParams.get("hub.challenge");
  const ok = Boolean(verifyToken) && mode === "subscribe" && token !== null && challenge !== null &&
    challenge.length <= 256 && await timingSafeEqual(token, verifyToken!);
  if (!ok) {
    return new Response(JSON.stringify({ error: { code: "VERIFICATION_FAILED", message: "verification failed" } }), {
      status: 403,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });
  }
  return new Response(challenge, {
    status: 200,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

/** A failed Cloud API call: `code` is WHATSAPP_NOT_CONFIGURED, WHATSAPP_TIMEOUT, WHATSAPP_UNREACHABLE
 *  or WHATSAPP_SEND_FAILED (with Meta's HTTP status and error code when it answered). */
export class WhatsAppError extends Error {
  constructor(readonly code: string, message: string, readonly status?: number, readonly metaCode?: number) {
    super(message);
    this.name = "WhatsAppError";
  }
}

export interface TextMessage {
  /** The business phone number id that received the conversation (the event's metadata). */
  phoneNumberId?: string;
  /** The customer's WhatsApp id (digits, as in the inbound message's `from`). */
  to: string;
  body: string;
  /** Echoed back by Meta in status webhooks (truncated to 512 characters). */
  callbackData?: string;
}

/** Sends a text message; returns the new message's wamid. */
export async function sendText(msg: TextMessage, s: WhatsAppSettings = whatsappSettings()): Promise<{ id?: string }> {
  const phoneNumberId = msg.phoneNumberId ?? s.phoneNumberId;
  if (!s.accessToken || !phoneNumberId) {
    throw new WhatsAppError("WHATSAPP_NOT_CONFIGURED", "WHATSAPP_ACCESS_TOKEN or the phone number id is missing");
  }
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(phoneNumberId)) {
    throw new WhatsAppError("WHATSAPP_NOT_CONFIGURED", "bad phone number id");
  }
  const body: Record<string, unknown> = {
    messaging_product: "whatsapp",
    recipient_type: "individual",
    to: msg.to.replace(/^\+/, ""),
    type: "text",
    text: { preview_url: false, body: msg.body.slice(0, 4096) },
  };
  if (msg.callbackData) body.biz_opaque_callback_data = msg.callbackData.slice(0, 512);
  const url = `${s.base}/${s.version}/${encodeURIComponent(phoneNumberId)}/messages`;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), s.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${s.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: ctl.signal,
    });
  } catch (e) {
    if (ctl.signal.aborted) throw new WhatsAppError("WHATSAPP_TIMEOUT", `no answer within ${s.timeoutMs} ms`);
    throw new WhatsAppError("WHATSAPP_UNREACHABLE", `send failed: ${(e as Error)?.name ?? "error"}`);
  } finally {
    clearTimeout(timer);
  }
  let payload: unknown = null;
  try {
    payload = await res.json();
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const err = (payload as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    throw new WhatsAppError(
      "WHATSAPP_SEND_FAILED",
      `Cloud API answered ${res.status}${typeof err?.message === "string" ? `: ${err.message.slice(0, 200)}` : ""}`,
      res.status,
      typeof err?.code === "number" ? err.code : undefined,
    );
  }
  const id = (payload as { messages?: { id?: unknown }[] } | null)?.messages?.[0]?.id;
  return { id: typeof id === "string" ? id : undefined };
}
