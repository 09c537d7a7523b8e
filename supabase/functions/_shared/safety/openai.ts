// OpenAI over plain fetch: chat completions with tools (the agent's new pipeline) and the Realtime
// SIP call controls (accept / reject an incoming call).
//
//   POST {OPENAI_API_BASE}/v1/chat/completions
//     { model, messages, tools: [{ type: "function", function: { name, description, parameters,
//       strict } }], tool_choice: "auto", parallel_tool_calls, temperature }
//     -> { choices: [{ message: { role, content, tool_calls: [{ id, type: "function",
//          function: { name, arguments: "<JSON text>" } }] }, finish_reason }] }
//          (+ usage: { prompt_tokens, completion_tokens }, model: read into ChatResult)
//   POST {OPENAI_API_BASE}/v1/realtime/calls/{call_id}/accept   { type: "realtime", model, instructions }
//   POST {OPENAI_API_BASE}/v1/realtime/calls/{call_id}/reject   { status_code }
//
// Settings come from the environment on every call: OPENAI_API_BASE (default
// https://api.openai.com), OPENAI_API_KEY, OPENAI_MODEL (default gpt-4o-mini),
// OPENAI_REALTIME_MODEL (default gpt-realtime), OPENAI_TIMEOUT_MS (default 8000; callers pass
// their own). Failures are OpenAIError with a stable code; the key is never put in a message.
import { env, envPositive } from "../platform/env.ts";

export interface OpenAISettings {
  base: string;
  apiKey?: string;
  model: string;
  realtimeModel: string;
  timeoutMs: number;
}

export function openaiSettings(): OpenAISettings {
  return {
    base: (env("OPENAI_API_BASE") ?? "").replace(/\/+$/, ""),
    apiKey: env("OPENAI_API_KEY"),
    model: env("OPENAI_MODEL") ?? "",
    realtimeModel: env("OPENAI_REALTIME_MODEL") ?? "",
    timeoutMs: envPositive("OPENAI_TIMEOUT_MS"),
  };
}

/** Codes: OPENAI_NOT_CONFIGURED, OPENAI_TIMEOUT, OPENAI_UNREACHABLE, OPENAI_HTTP_ERROR (status set),
 *  OPENAI_BAD_RESPONSE. */
export class OpenAIError extends Error {
  constructor(readonly code: string, message: string, readonly status?: number) {
    super(message);
    this.name = "OpenAIError";
  }
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments (with strict: every property required, no additional ones). */
  parameters: Record<string, unknown>;
}

export type ChatMessage =
  | { role: "system" | "user" | "assistant"; content: string }
  | { role: "tool"; tool_call_id: string; content: string };

export interface ToolCall {
  id: string;
  name: string;
  /** The parsed `arguments` JSON object. */
  args: Record<string, unknown>;
}

export interface ChatResult {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason?: string;
  /** The answer's `usage` (prompt/completion tokens), when it carried one. */
  usage?: { tokensIn: number; tokensOut: number };
  /** The model that answered (the answer's `model`, else the request's). */
  model?: string;
}

async function post(
  s: OpenAISettings,
  path: string,
  body: unknown,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Response> {
  if (!s.apiKey) throw new OpenAIError("OPENAI_NOT_CONFIGURED", "OPENAI_API_KEY is not set");
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const onAbort = () => ctl.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const res = await fetch(`${s.base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: ctl.signal,
    });
    if (!res.ok) {
      let detail = "";
      try {
        const e = (await res.json())?.error;
        if (typeof e?.code === "string") detail = ` (${e.code.slice(0, 60)})`;
        else if (typeof e?.type === "string") detail = ` (${e.type.slice(0, 60)})`;
      } catch {
        // not JSON
      }
      throw new OpenAIError("OPENAI_HTTP_ERROR", `OpenAI answered ${res.status}${detail}`, res.status);
    }
    return res;
  } catch (e) {
    if (e instanceof OpenAIError) throw e;
    if (ctl.signal.aborted) throw new OpenAIError("OPENAI_TIMEOUT", `no answer within ${timeoutMs} ms`);
    throw new OpenAIError("OPENAI_UNREACHABLE", `request failed: ${(e as Error)?.name ?? "error"}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** The chat completions body the original (hand-built) prompt sends: strict function tools,
 *  tool_choice auto, no parallel tool calls, temperature 0. */
export function chatBody(
  req: { messages: ChatMessage[]; tools: ToolSpec[]; model?: string },
  settings: OpenAISettings = openaiSettings(),
): Record<string, unknown> {
  return {
    model: req.model ?? settings.model,
    messages: req.messages,
    tools: req.tools.map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters, strict: true },
    })),
    tool_choice: "auto",
    parallel_tool_calls: false,
    temperature: 0,
  };
}

/**
 * One chat completion with tools. The whole exchange (headers and body) must finish within
 * `timeoutMs`. Tool call arguments are parsed; a tool call whose arguments are not a JSON object,
 * or an answer without choices, is OPENAI_BAD_RESPONSE.
 */
export function chatWithTools(
  req: { messages: ChatMessage[]; tools: ToolSpec[]; model?: string },
  opts: { timeoutMs?: number; signal?: AbortSignal; settings?: OpenAISettings } = {},
): Promise<ChatResult> {
  const s = opts.settings ?? openaiSettings();
  return chatCompletion(chatBody(req, s), { ...opts, settings: s });
}

/** Sends a ready-made chat completions body (e.g. from the core's buildOpenAIRequest) under the
 *  same deadline and error rules as chatWithTools. */
export async function chatCompletion(
  body: Record<string, unknown>,
  opts: { timeoutMs?: number; signal?: AbortSignal; settings?: OpenAISettings } = {},
): Promise<ChatResult> {
  const s = opts.settings ?? openaiSettings();
  const timeoutMs = opts.timeoutMs ?? s.timeoutMs;
  // The body is read under the same deadline as the headers (a server may stall mid-body).
  const started = Date.now();
  const res = await post(s, "/v1/chat/completions", body, timeoutMs, opts.signal);
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const payload = await Promise.race([
      res.json().catch(() => {
        throw new OpenAIError("OPENAI_BAD_RESPONSE", "answer is not JSON");
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OpenAIError("OPENAI_TIMEOUT", `no answer within ${timeoutMs} ms`)), left);
      }),
    ]);
    const out = parseChat(payload);
    if (!out.model && typeof body.model === "string") out.model = body.model;
    return out;
  } finally {
    clearTimeout(timer);
    res.body?.cancel().catch(() => {});
  }
}

/** Reads a chat completion answer (exported for tests). */
export function parseChat(payload: unknown): ChatResult {
  const choice = (payload as { choices?: unknown[] } | null)?.choices?.[0] as
    | { message?: { content?: unknown; tool_calls?: unknown[] }; finish_reason?: unknown }
    | undefined;
  if (!choice || typeof choice !== "object" || !choice.message) {
    throw new OpenAIError("OPENAI_BAD_RESPONSE", "answer has no choices[0].message");
  }
  const calls: ToolCall[] = [];
  for (const raw of choice.message.tool_calls ?? []) {
    const c = raw as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
    if (c?.type !== "function" || typeof c.function?.name !== "string") {
      throw new OpenAIError("OPENAI_BAD_RESPONSE", "tool call is not a function call");
    }
    let args: unknown;
    try {
      args = typeof c.function.arguments === "string" ? JSON.parse(c.function.arguments) : c.function.arguments;
    } catch {
      throw new OpenAIError("OPENAI_BAD_RESPONSE", `arguments of ${c.function.name.slice(0, 60)} are not JSON`);
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      throw new OpenAIError("OPENAI_BAD_RESPONSE", `arguments of ${c.function.name.slice(0, 60)} are not an object`);
    }
    calls.push({
      id: typeof c.id === "string" ? c.id : "",
      name: c.function.name,
      args: args as Record<string, unknown>,
    });
  }
  const content = typeof choice.message.content === "string" ? choice.message.content : null;
  const u = (payload as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
  const tok = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);
  const model = (payload as { model?: unknown }).model;
  return {
    content,
    toolCalls: calls,
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : undefined,
    ...(u && typeof u === "object"
      ? { usage: { tokensIn: tok(u.prompt_tokens), tokensOut: tok(u.completion_tokens) } }
      : {}),
    ...(typeof model === "string" && model ? { model: model.slice(0, 100) } : {}),
  };
}

const CALL_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Accepts an incoming SIP call and configures its Realtime session. */
export async function acceptCall(
  callId: string,
  session: { instructions: string; model?: string; [k: string]: unknown },
  opts: { timeoutMs?: number; settings?: OpenAISettings } = {},
): Promise<void> {
  const s = opts.settings ?? openaiSettings();
  if (!CALL_ID.test(callId)) throw new OpenAIError("OPENAI_BAD_REQUEST", "bad call id");
  const res = await post(s, `/v1/realtime/calls/${encodeURIComponent(callId)}/accept`, {
    type: "realtime",
    ...session,
    model: session.model ?? s.realtimeModel,
  }, opts.timeoutMs ?? s.timeoutMs);
  await res.body?.cancel();
}

/** Rejects an incoming SIP call (SIP status, default 603 Decline). */
export async function rejectCall(
  callId: string,
  statusCode = 603,
  opts: { timeoutMs?: number; settings?: OpenAISettings } = {},
): Promise<void> {
  const s = opts.settings ?? openaiSettings();
  if (!CALL_ID.test(callId)) throw new OpenAIError("OPENAI_BAD_REQUEST", "bad call id");
  const res = await post(
    s,
    `/v1/realtime/calls/${encodeURIComponent(callId)}/reject`,
    { status_code: statusCode },
    opts.timeoutMs ?? s.timeoutMs,
  );
  await res.body?.cancel();
}
