// The work behind ai-whatsapp-webhook and ai-realtime-webhook (their index.ts files only route).
//
// Both: read the RAW body bytes (capped), verify the signature over exactly those bytes in the
// Wasm, and only then parse. A refused signature is a 401 with nothing processed (no
// webhook_events row, nothing sent).
//
// WhatsApp, at least once: each message and status of a delivery is validated on its own (a
// malformed event is logged and skipped; its valid neighbours are kept), then every event is
// recorded in webhook_events (dedup.ts) before the answer. 200 means "recorded": when the
// database cannot take them the answer is 503 EVENTS_NOT_RECORDED and Meta delivers again (it
// retries non-2xx answers with backoff for up to 7 days; after a 200 it never does). The events
// recorded by this delivery are then processed (in EdgeRuntime.waitUntil when the runtime offers
// it, else before answering): claimed, answered by the agent, the reply stored, sent, marked
// processed. A failed attempt (the database, the Cloud API) is retried by the retry job
// (`retryWhatsApp`: pg_cron on Supabase, the local stack's timer) with backoff, at most
// WEBHOOK_MAX_ATTEMPTS times; a retry resends a stored reply rather than running the agent again;
// after the last attempt the user gets a friendly "sorry, try again". Failures are logged with
// the request's correlation id.
//
// OpenAI: the delivery is claimed (deduplicated by webhook-id) before the answer, 503 when that
// fails; the call is then accepted or rejected once (calls do not wait for retries).
//
// Logs never carry phone numbers or wamids (a wamid encodes the number); the webhook_events row
// links event id and correlation id.
import { e164, REPLIES, runAgent } from "./agent.ts";
import { claim, claimEvent, due, giveUpStranded, recordEvents, settle, storeReply } from "./dedup.ts";
import { feature } from "./features.ts";
import { type Ctx, HttpError, jsonDepth, MAX_JSON_DEPTH, readBytes, withoutBadText } from "../platform/http.ts";
import type { Db } from "../platform/db.ts";
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

/** 503 for events that could not be recorded: the provider delivers them again. */
function notRecorded(log: Logger, provider: string, e: unknown): HttpError {
  log.error("webhook events not recorded; the provider will deliver again", {
    provider,
    code: errorCode(e),
  });
  return new HttpError(
    503,
    "EVENTS_NOT_RECORDED",
    "the events could not be recorded; deliver them again",
    { "retry-after": "5" },
  );
}

/** An error's stable code, for logs and webhook_events.last_error (never its text). */
function errorCode(e: unknown): string {
  const c = (e as { code?: unknown })?.code;
  return typeof c === "string" && /^[A-Za-z0-9_]{1,64}$/.test(c) ? c : (e as Error)?.name ?? "ERROR";
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

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A delivery cut into one payload per message and per status (each with its entry's id, its
 * change's field and value's metadata and contacts), so the core validates each on its own. A
 * payload not shaped like a delivery comes back whole (the core then says what is wrong).
 */
export function splitDelivery(p: unknown): { path: string; payload: unknown }[] {
  if (!isObject(p) || !Array.isArray(p.entry)) return [{ path: "$", payload: p }];
  const parts: { path: string; payload: unknown }[] = [];
  p.entry.forEach((entry, i) => {
    if (!isObject(entry) || !Array.isArray(entry.changes)) {
      parts.push({ path: `entry[${i}]`, payload: { ...p, entry: [entry] } });
      return;
    }
    entry.changes.forEach((change, j) => {
      const at = `entry[${i}].changes[${j}]`;
      const one = (value: unknown) => ({ ...p, entry: [{ ...entry, changes: [{ ...change, value }] }] });
      if (!isObject(change) || !isObject(change.value)) return parts.push({ path: at, payload: one(change?.value) });
      const { messages, statuses, ...rest } = change.value;
      for (const [name, list] of [["messages", messages], ["statuses", statuses]] as const) {
        if (list === undefined) continue;
        if (!Array.isArray(list)) parts.push({ path: `${at}.value.${name}`, payload: one({ ...rest, [name]: list }) });
        else {list.forEach((x, k) =>
            parts.push({ path: `${at}.value.${name}[${k}]`, payload: one({ ...rest, [name]: [x] }) })
          );}
      }
    });
  });
  return parts;
}

/** Verifies a WhatsApp delivery and returns its valid events (401 on a refused signature). Each
 *  message and status is validated on its own: a malformed one is logged (with its path) and
 *  dropped, never its neighbours; a delivery that is not JSON at all yields no events. */
export async function verifyWhatsApp(req: Request, ctx: Ctx): Promise<WhatsAppEvent[]> {
  const secret = env("WHATSAPP_APP_SECRET");
  if (!secret) notConfigured(ctx.log, "WHATSAPP_APP_SECRET");
  const raw = await readBytes(req, WHATSAPP_MAX_BODY);
  verified(() => verifyMetaSignature(secret, raw, req.headers.get("x-hub-signature-256")), ctx.log, "whatsapp");
  let payload: unknown;
  try {
    const text = new TextDecoder().decode(raw);
    if (jsonDepth(text) > MAX_JSON_DEPTH) throw Object.assign(new Error("too deep"), { code: "JSON_TOO_DEEP" });
    payload = JSON.parse(text);
  } catch (e) {
    ctx.log.error("malformed whatsapp delivery", { code: (e as { code?: string })?.code ?? "BAD_JSON" });
    return [];
  }
  const events: WhatsAppEvent[] = [];
  for (const part of splitDelivery(payload)) {
    try {
      events.push(...whatsappEvents(part.payload));
    } catch (e) {
      const what = part.path === "$" ? "malformed whatsapp delivery" : "malformed whatsapp event skipped";
      ctx.log.error(what, { path: part.path, code: errorCode(e) });
    }
  }
  return events;
}

/** Records a delivery's events (503 EVENTS_NOT_RECORDED when the database cannot); returns those
 *  recorded now, to process (the rest were recorded by an earlier delivery). */
export async function recordWhatsApp(events: WhatsAppEvent[], ctx: Ctx): Promise<WhatsAppEvent[]> {
  if (events.length === 0) return [];
  let r: Awaited<ReturnType<typeof recordEvents>>;
  try {
    const db = await getDb();
    // Texts Postgres cannot store (U+0000, lone surrogates) become U+FFFD rather than losing the event.
    // A status is only logged (nothing to retry): recorded as processed in the same insert.
    const rows = events.map((e) => ({ id: e.dedupId, payload: withoutBadText(e), done: e.kind === "status" }));
    r = await recordEvents(db, "whatsapp", rows, ctx.correlationId);
  } catch (e) {
    throw notRecorded(ctx.log, "whatsapp", e);
  }
  for (const [layer, count] of [["duplicate-isolate", r.inIsolate], ["duplicate", r.inDatabase]] as const) {
    if (count) ctx.log.info("duplicate event skipped", { layer, count });
  }
  return events.filter((e) => r.recorded.has(e.dedupId));
}

type Stats = { messages: number; statuses: number; replies: number; failures: number; skipped: number };

/** Processes events this isolate recorded, in order. Never rejects. */
export async function processWhatsApp(events: WhatsAppEvent[], ctx: Ctx): Promise<void> {
  if (events.length === 0) return;
  const stats: Stats = { messages: 0, statuses: 0, replies: 0, failures: 0, skipped: 0 };
  let db: Db;
  try {
    db = await getDb();
  } catch (e) {
    ctx.log.error("whatsapp events left to the retry job", { code: errorCode(e), count: events.length });
    return;
  }
  for (const ev of events) {
    if (ev.kind === "status") logStatus(ev, ctx, stats); // recorded as processed already
    else await attempt(db, ev.dedupId, false, ctx, stats);
  }
  ctx.log.info("whatsapp delivery processed", { events: events.length, ...stats });
}

/** The retry job: takes up due events (failed, never claimed, or abandoned by a dead isolate),
 *  at most `limit` per run. */
export async function retryWhatsApp(ctx: Ctx, limit = 100): Promise<{ due: number } & Stats> {
  const stats: Stats = { messages: 0, statuses: 0, replies: 0, failures: 0, skipped: 0 };
  const db = await getDb();
  const ids = await due(db, "whatsapp", limit);
  for (const id of ids) await attempt(db, id, true, ctx, stats);
  for (const { payload } of await giveUpStranded(db, "whatsapp", limit)) {
    stats.failures++;
    const ev = payload as WhatsAppEvent | null;
    ctx.log.error("whatsapp event given up", { code: "LEASE_EXPIRED", kind: ev?.kind });
    if (ev?.kind === "message") await tellGivenUp(ev, ctx);
  }
  if (ids.length) ctx.log.info("whatsapp retries", { due: ids.length, ...stats });
  return { due: ids.length, ...stats };
}

/** Tells the sender of a message given up that something went wrong (best effort). */
async function tellGivenUp(ev: WhatsAppEvent & { kind: "message" }, ctx: Ctx): Promise<void> {
  await send(ev, { text: REPLIES.failed, meta: { pipeline: "none", failed: true } }, ctx).catch(() => {});
}

/** What an attempt sends: the reply text and its callback metadata. */
type Reply = { text: string; meta: Record<string, unknown> } | null;

/** One attempt at one event: claim, work (or resend the stored reply), settle. Never rejects. */
async function attempt(db: Db, id: string, dueOnly: boolean, ctx: Ctx, stats: Stats): Promise<void> {
  let ev: WhatsAppEvent | null = null;
  try {
    const c = await claim(db, "whatsapp", id, dueOnly);
    if (!c) {
      stats.skipped++;
      return;
    }
    ev = c.payload as WhatsAppEvent;
    let reply = c.reply as Reply;
    if (reply === null) {
      reply = await work(db, ev, ctx, stats);
      if (reply) await storeReply(db, "whatsapp", id, reply);
    }
    if (reply && ev.kind === "message") {
      await send(ev, reply, ctx);
      stats.replies++;
    }
    await settle(db, "whatsapp", id, null);
  } catch (e) {
    stats.failures++;
    const code = errorCode(e);
    ctx.log.error("whatsapp event failed", { kind: ev?.kind, code, err: e });
    const out = await settle(db, "whatsapp", id, code).catch(() => null); // else: the lease runs out
    if (out?.gaveUp && ev?.kind === "message") {
      ctx.log.error("whatsapp event given up", { code });
      await tellGivenUp(ev, ctx);
    }
  }
}

/** A delivery status: logged (its state is already 'processed'). */
function logStatus(ev: WhatsAppEvent & { kind: "status" }, ctx: Ctx, stats: Stats): void {
  stats.statuses++;
  ctx.log.info("message status", { status: ev.status });
}

/** The agent's work on one event; the reply to send, if any. */
async function work(db: Db, ev: WhatsAppEvent, ctx: Ctx, stats: Stats): Promise<Reply> {
  if (ev.kind === "status") {
    logStatus(ev, ctx, stats);
    return null;
  }
  stats.messages++;
  let phone: string;
  try {
    phone = e164(ev.from);
  } catch {
    ctx.log.warn("message from an invalid phone number ignored", { type: ev.type });
    return null;
  }
  const f = await feature("FEATURE_AGENT_CHAT", phone);
  if (!f.on) {
    ctx.log.info("feature disabled", { feature: "FEATURE_AGENT_CHAT", why: f.why });
    return null;
  }
  if (ev.type !== "text" || !ev.text) return { text: REPLIES.notText, meta: { pipeline: "none" } };
  const r = await runAgent({ phone, text: ev.text, correlationId: ctx.correlationId, log: ctx.log, db });
  const meta = {
    pipeline: r.pipeline,
    ...(r.fallback ? { fallback: r.fallback } : {}),
    ...(r.rateLimited ? { rateLimited: true } : {}),
    ...(r.cached ? { cached: true } : {}),
  };
  return { text: r.text, meta };
}

/** Sends a reply (throws on failure, logged). The metadata (correlation id, pipeline, fallback,
 *  cached) travels as biz_opaque_callback_data, which Meta echoes in the message's statuses. */
async function send(ev: WhatsAppEvent & { kind: "message" }, reply: NonNullable<Reply>, ctx: Ctx): Promise<void> {
  try {
    await sendText({
      phoneNumberId: ev.phoneNumberId,
      to: ev.from,
      body: reply.text,
      callbackData: JSON.stringify({ cid: ctx.correlationId, ...reply.meta }),
    });
  } catch (e) {
    ctx.log.error("reply not sent", {
      code: (e as { code?: string })?.code,
      status: (e as { status?: number })?.status,
    });
    throw e;
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

/** Claims an OpenAI delivery by its webhook-id before the answer: true when it is new (process
 *  it), false for a duplicate; 503 EVENTS_NOT_RECORDED when the database cannot say. */
export async function claimOpenAI(d: RealtimeDelivery, ctx: Ctx): Promise<boolean> {
  let c;
  try {
    c = await claimEvent(await getDb(), "openai", d.webhookId, ctx.correlationId);
  } catch (e) {
    throw notRecorded(ctx.log, "openai", e);
  }
  if (c !== "new") ctx.log.info("duplicate event skipped", { layer: c });
  return c === "new";
}

/** Handles one claimed OpenAI delivery: accepts or rejects an incoming call. Never rejects. */
export async function processOpenAI(d: RealtimeDelivery, ctx: Ctx): Promise<void> {
  try {
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
