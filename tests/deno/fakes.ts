// Local stand-ins for OpenAI and Meta's Graph API: real HTTP servers on 127.0.0.1 (a free port)
// speaking the providers' wire formats, recording what they were sent. Point the code at them
// with OPENAI_API_BASE / WHATSAPP_API_BASE.
//
// fakeOpenAI(key):
//   POST /v1/chat/completions      bearer `key` (else 401 with OpenAI's error shape); answers
//                                  from `script` (a queue; when empty, `fallback`):
//                                  { toolCall: { name, arguments } } | { content } | { status } | { hang: true }
//   POST /v1/realtime/calls/{id}/accept | /reject   bearer `key`; recorded; 200 with an empty body
// fakeMeta(token):
//   POST /{version}/{phone_number_id}/messages      bearer `token` (else 401, Graph's OAuthException
//                                  code 190); validates the send-message body (messaging_product,
//                                  to, type text, text.body); records it; answers
//                                  { messaging_product, contacts: [{ input, wa_id }], messages: [{ id }] }
// alertReceiver(secret): an alert destination: a generic webhook receiver that checks every
//                                  delivery's Standard Webhooks signature with the core's
//                                  verifyStandardWebhook (clock: `clock()`, default now), or a Slack
//                                  incoming webhook (`slack: true`: answers "ok", checks the shape);
//                                  `fail` answers that status to the next n deliveries.
// waPayload / waRequest / openaiRequest / incomingCall build signed deliveries as Meta and OpenAI send them.
import {
  hmacSha256Hex,
  signStandardWebhook,
  verifyStandardWebhook,
} from "../../supabase/functions/_shared/platform/trimtab.ts";

export type ChatStep =
  | { toolCall: { name: string; arguments: Record<string, unknown> | string } }
  | { content: string }
  | { status: number }
  | { hang: true };

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

import type { Json } from "./support.ts";

export interface FakeOpenAI extends FakeServer {
  /** Every chat completion request body received (also refused and hung ones). */
  chats: Json[];
  /** Realtime call controls received, in order. */
  calls: { action: "accept" | "reject"; callId: string; body: Json }[];
  /** Requests refused for a wrong or missing key. */
  unauthorized: number;
  script: ChatStep[];
  fallback: ChatStep;
}

export interface SentMessage {
  version: string;
  phoneNumberId: string;
  body: Json;
}

export interface FakeMeta extends FakeServer {
  sent: SentMessage[];
  unauthorized: number;
  /** Answer every send with this status (Graph error body) instead of 200, when set. */
  failWith: number | null;
}

function start(handler: (req: Request) => Promise<Response>): { url: string; close: () => Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const bearerOk = (req: Request, secret: string) => req.headers.get("authorization") === `Bearer ${secret}`;

let seq = 0;

export function fakeOpenAI(key: string): FakeOpenAI {
  const hangers = new Set<() => void>();
  const state = {
    chats: [] as Json[],
    calls: [] as FakeOpenAI["calls"],
    unauthorized: 0,
    script: [] as ChatStep[],
    fallback: { content: "Hello from the fake model." } as ChatStep,
  };
  const srv = start(async (req) => {
    const url = new URL(req.url);
    const body = await req.json().catch(() => null);
    if (!bearerOk(req, key)) {
      state.unauthorized++;
      return json(401, {
        error: {
          message: "Incorrect API key provided.",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      });
    }
    const rt = /^\/v1\/realtime\/calls\/([^/]+)\/(accept|reject)$/.exec(url.pathname);
    if (req.method === "POST" && rt) {
      state.calls.push({ action: rt[2] as "accept" | "reject", callId: decodeURIComponent(rt[1]), body });
      return new Response(null, { status: 200 });
    }
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return json(404, {
        error: { message: "Unknown request URL", type: "invalid_request_error", code: "unknown_url" },
      });
    }
    state.chats.push(body);
    if (!body || typeof body.model !== "string" || !Array.isArray(body.messages)) {
      return json(400, { error: { message: "bad request", type: "invalid_request_error", code: null } });
    }
    const step = state.script.shift() ?? state.fallback;
    if ("hang" in step) {
      // Never answers on its own; released when the client gives up or the fake closes.
      await new Promise<void>((resolve) => {
        hangers.add(resolve);
        req.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      return json(504, { error: { message: "released", type: "server_error" } });
    }
    if ("status" in step) {
      return json(step.status, {
        error: { message: "The server had an error while processing your request.", type: "server_error", code: null },
      });
    }
    const id = `chatcmpl-fake${++seq}`;
    const message = "toolCall" in step
      ? {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: [{
          id: `call_fake${seq}`,
          type: "function",
          function: {
            name: step.toolCall.name,
            arguments: typeof step.toolCall.arguments === "string"
              ? step.toolCall.arguments
              : JSON.stringify(step.toolCall.arguments),
          },
        }],
      }
      : { role: "assistant", content: step.content, refusal: null };
    return json(200, {
      id,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: "toolCall" in step ? "tool_calls" : "stop" }],
      usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
    });
  });
  return Object.assign(state, {
    get url() {
      return srv.url;
    },
    close: async () => {
      for (const h of hangers) h();
      await srv.close();
    },
  });
}

export function fakeMeta(token: string): FakeMeta {
  const state = { sent: [] as SentMessage[], unauthorized: 0, failWith: null as number | null };
  const srv = start(async (req) => {
    const url = new URL(req.url);
    const m = /^\/(v\d+\.\d+)\/([^/]+)\/messages$/.exec(url.pathname);
    if (req.method !== "POST" || !m) {
      return json(400, { error: { message: "Unsupported post request.", type: "GraphMethodException", code: 100 } });
    }
    if (!bearerOk(req, token)) {
      state.unauthorized++;
      return json(401, {
        error: {
          message: "Invalid OAuth access token - Cannot parse access token",
          type: "OAuthException",
          code: 190,
          fbtrace_id: "Afake",
        },
      });
    }
    const body = await req.json().catch(() => null);
    const valid = body?.messaging_product === "whatsapp" && typeof body.to === "string" && /^\d{8,15}$/.test(body.to) &&
      body.type === "text" && typeof body.text?.body === "string" && body.text.body.length > 0 &&
      body.text.body.length <= 4096;
    if (!valid) {
      return json(400, {
        error: { message: "(#100) Invalid parameter", type: "OAuthException", code: 100, fbtrace_id: "Afake" },
      });
    }
    if (state.failWith) {
      return json(state.failWith, {
        error: { message: "Service temporarily unavailable", type: "OAuthException", code: 2, fbtrace_id: "Afake" },
      });
    }
    state.sent.push({ version: m[1], phoneNumberId: decodeURIComponent(m[2]), body });
    return json(200, {
      messaging_product: "whatsapp",
      contacts: [{ input: body.to, wa_id: body.to }],
      messages: [{ id: `wamid.FAKE${++seq}` }],
    });
  });
  return Object.assign(state, {
    get url() {
      return srv.url;
    },
    close: srv.close,
  });
}

/** One delivery an alert receiver got. */
export interface ReceivedAlert {
  headers: Record<string, string>;
  body: Json;
  /** The signature verified (webhook) or the body had Slack's shape (slack). */
  verified: boolean;
  /** The verifier's error code when it did not. */
  error?: string;
  status: number;
}

export interface AlertReceiver extends FakeServer {
  received: ReceivedAlert[];
  /** Answer the next `fail.count` deliveries with `fail.status`. */
  fail: { count: number; status: number };
  /** The verifier's clock (ms); tests that pin the sender's clock pin this one too. */
  clock: () => number;
}

/** A Standard Webhooks receiver (secret `whsec_...`), or a Slack incoming webhook. */
export function alertReceiver(secret: string | null, opts: { slack?: boolean } = {}): AlertReceiver {
  const state = {
    received: [] as ReceivedAlert[],
    fail: { count: 0, status: 500 },
    clock: () => Date.now(),
  };
  const srv = start(async (req) => {
    const raw = new Uint8Array(await req.arrayBuffer());
    const headers = Object.fromEntries(req.headers);
    let body: Json = null;
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch { /* recorded as null */ }
    let verified = false, error: string | undefined;
    if (opts.slack) {
      verified = typeof body?.text === "string" && Array.isArray(body?.blocks) && body.blocks.length > 0;
    } else {
      try {
        verifyStandardWebhook(
          secret ?? "",
          {
            id: headers["webhook-id"],
            timestamp: headers["webhook-timestamp"],
            signature: headers["webhook-signature"],
          },
          raw,
          Math.floor(state.clock() / 1000),
        );
        verified = true;
      } catch (e) {
        error = (e as { code?: string })?.code ?? "ERROR";
      }
    }
    const status = state.fail.count > 0 ? (state.fail.count--, state.fail.status) : verified ? 200 : 401;
    state.received.push({ headers, body, verified, error, status });
    return opts.slack && status === 200 ? new Response("ok") : json(status, { ok: status === 200 });
  });
  return Object.assign(state, {
    get url() {
      return srv.url;
    },
    close: srv.close,
  });
}

/** A fresh Standard Webhooks secret. */
export function webhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

// ---------------------------------------------------------------- deliveries, as the providers send them

export interface InboundText {
  id: string;
  /** WhatsApp id: the sender's digits without "+". */
  from: string;
  text?: string;
  type?: string;
}

/** A WhatsApp Cloud API `messages` webhook payload: one entry per element of `batches`, each one
 *  change with its messages and statuses. */
export function waPayload(
  batches: { messages?: InboundText[]; statuses?: { id: string; status: string; recipient: string }[] }[],
  phoneNumberId = "106540352242922",
): Json {
  return {
    object: "whatsapp_business_account",
    entry: batches.map((b, i) => ({
      id: `10234567890${i}`,
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId },
          ...(b.messages
            ? {
              contacts: b.messages.map((m) => ({ profile: { name: "Test User" }, wa_id: m.from })),
              messages: b.messages.map((m) => ({
                from: m.from,
                id: m.id,
                timestamp: String(Math.floor(Date.now() / 1000)),
                type: m.type ?? "text",
                ...((m.type ?? "text") === "text" ? { text: { body: m.text ?? "" } } : {
                  [m.type!]: {
                    id: "1479537139650973",
                    mime_type: "image/jpeg",
                    sha256: "HgsXqo1F/ygqM6MAmdLKAa7UNxqAcq+8xnRZhHvUTCI=",
                  },
                }),
              })),
            }
            : {}),
          ...(b.statuses
            ? {
              statuses: b.statuses.map((s) => ({
                id: s.id,
                status: s.status,
                timestamp: String(Math.floor(Date.now() / 1000)),
                recipient_id: s.recipient,
              })),
            }
            : {}),
        },
      }],
    })),
  };
}

/** A WhatsApp delivery request: the body text, and X-Hub-Signature-256 over exactly its bytes. */
export function waRequest(
  url: string,
  payload: unknown,
  opts: { secret?: string; signature?: string | null; headers?: Record<string, string>; tamper?: boolean } = {},
): Request {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { "content-type": "application/json", ...(opts.headers ?? {}) };
  const sig = opts.signature !== undefined ? opts.signature : `sha256=${hmacSha256Hex(opts.secret ?? "", text)}`;
  if (sig !== null) headers["x-hub-signature-256"] = sig;
  return new Request(url, { method: "POST", headers, body: opts.tamper ? text.replace("}", " }") : text });
}

/** A Standard Webhooks (OpenAI) delivery request signed with `secret`. */
export function openaiRequest(
  url: string,
  event: unknown,
  opts: {
    secret: string;
    id?: string;
    timestamp?: number;
    drop?: "webhook-id" | "webhook-timestamp" | "webhook-signature";
    signature?: string;
    headers?: Record<string, string>;
  },
): Request {
  const text = JSON.stringify(event);
  const id = opts.id ?? `wh_${crypto.randomUUID().replaceAll("-", "")}`;
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)",
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": opts.signature ?? signStandardWebhook(opts.secret, id, ts, new TextEncoder().encode(text)),
    ...(opts.headers ?? {}),
  };
  if (opts.drop) delete headers[opts.drop];
  return new Request(url, { method: "POST", headers, body: text });
}

/** A `realtime.call.incoming` event as OpenAI documents it. */
export function incomingCall(callId: string, from = "+14155550123"): Json {
  return {
    object: "event",
    id: `evt_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    type: "realtime.call.incoming",
    created_at: Math.floor(Date.now() / 1000),
    data: {
      call_id: callId,
      sip_headers: [
        { name: "From", value: `sip:${from}@sip.example.com` },
        { name: "To", value: "sip:+18005550100@sip.example.com" },
        { name: "Call-ID", value: `${callId}@example.com` },
      ],
    },
  };
}
