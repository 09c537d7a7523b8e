// The agent's llm ("phoenix") pipeline prompt: the tools offered to the model, the two prompt
// variants of the USE_OPTIMIZED_PROMPTS A/B test, and the reading of the model's answer.
//
// - "original": the hand-built chat completions body (system prompt + the message, strict
//   function tools, tool_choice auto);
// - "optimized": the core's buildOpenAIRequest from a PromptSpec (system, instructions, format,
//   tools and a strict JSON schema for a text reply: structured outputs).
// Both are cut to AGENT_PROMPT_TOKEN_BUDGET (default 4000) estimated tokens by the core's
// truncatePrompt. The customer's phone is never part of a prompt.
import type { AgentCall, ToolName } from "./agent.ts";
import { flagFor } from "../safety/ai_guard.ts";
import { envPositive } from "../platform/env.ts";
import { chatBody, chatCompletion, type ChatResult, type OpenAISettings, type ToolSpec } from "../safety/openai.ts";
import * as core from "../platform/trimtab.ts";
import type { PromptSpec } from "../platform/trimtab.ts";

/** The prompt A/B test flag (variants "original" | "optimized"). */
export const PROMPT_FLAG = "USE_OPTIMIZED_PROMPTS";

const nullable = (type: string, description: string) => ({ type: [type, "null"], description });

/** The tools offered to the model (strict JSON schemas). */
export const LLM_TOOLS: ToolSpec[] = [
  {
    name: "lookup_customer",
    description: 'Look up a customer and their vouchers by phone number. Use "me" for the customer who is writing.',
    parameters: {
      type: "object",
      properties: { phone: { type: "string", description: 'E.164 phone number, or "me"' } },
      required: ["phone"],
      additionalProperties: false,
    },
  },
  {
    name: "create_voucher",
    description: "Create (issue) a voucher for a customer. Amount in minor units of the currency.",
    parameters: {
      type: "object",
      properties: {
        amount: { type: "integer", description: "amount in minor units, e.g. 10000" },
        currency: nullable("string", "ISO 4217 code such as RWF; null for the default"),
        phone: { type: "string", description: "the holder's E.164 phone number" },
      },
      required: ["amount", "currency", "phone"],
      additionalProperties: false,
    },
  },
  {
    name: "redeem_voucher",
    description: "Redeem one of the writing customer's own vouchers by its code.",
    parameters: {
      type: "object",
      properties: { code: { type: "string", description: "the voucher code" } },
      required: ["code"],
      additionalProperties: false,
    },
  },
  {
    name: "void_voucher",
    description: "Void (cancel) an issued voucher by its code.",
    parameters: {
      type: "object",
      properties: {
        code: { type: "string", description: "the voucher code" },
        reason: nullable("string", "why, if the customer said"),
      },
      required: ["code", "reason"],
      additionalProperties: false,
    },
  },
];

const SYSTEM_PROMPT = [
  "You are the Trimtab WhatsApp assistant for vouchers.",
  "Decide which tool answers the customer's message and call it; call at most one tool.",
  "Never invent voucher codes, amounts or phone numbers: use only what the customer wrote.",
  "If the message is a greeting or a question about what you can do, or it matches no tool,",
  "answer in one or two short, friendly sentences without calling a tool.",
].join(" ");

const OPTIMIZED_SYSTEM = [
  "You are the Trimtab WhatsApp assistant for vouchers.",
  "Pick the one tool that serves the customer's latest message and call it with exactly the values the customer wrote.",
].join(" ");

const OPTIMIZED_INSTRUCTIONS = [
  "Call at most one tool. Never invent voucher codes, amounts or phone numbers.",
  '"me" means the customer who is writing.',
  "For greetings, questions about what you can do, or anything no tool covers, call no tool and reply briefly.",
].join(" ");

const REPLY_SCHEMA = {
  name: "agent_reply",
  schema: {
    type: "object",
    properties: { reply: { type: "string", description: "one or two short, friendly sentences" } },
    required: ["reply"],
    additionalProperties: false,
  },
};

export type PromptVariant = "original" | "optimized";

/** The prompt variant `phone` gets (USE_OPTIMIZED_PROMPTS: "optimized" only when its variant says so). */
export async function promptVariant(phone: string): Promise<PromptVariant> {
  const f = await flagFor(PROMPT_FLAG, phone);
  return f?.enabled && f.variant === "optimized" ? "optimized" : "original";
}

/** The chat completions body for `text` under `variant`, cut to AGENT_PROMPT_TOKEN_BUDGET (throws
 *  PROMPT_TOO_LARGE when even the system prompt and the message do not fit). */
export function llmRequest(text: string, variant: PromptVariant, settings: OpenAISettings): Record<string, unknown> {
  const messages = [{ role: "user" as const, content: text.slice(0, 2000) }];
  let spec: PromptSpec = variant === "optimized"
    ? {
      model: settings.model,
      system: OPTIMIZED_SYSTEM,
      instructions: OPTIMIZED_INSTRUCTIONS,
      format: "Either call one tool, or answer with the reply object.",
      messages,
      tools: LLM_TOOLS,
      responseSchema: REPLY_SCHEMA,
      temperature: 0,
    }
    : { model: settings.model, system: SYSTEM_PROMPT, messages, tools: LLM_TOOLS };
  if (typeof core.truncatePrompt === "function") {
    const { droppedTurns: _dropped, ...cut } = core.truncatePrompt(
      spec,
      envPositive("AGENT_PROMPT_TOKEN_BUDGET", { integer: true }),
    );
    spec = cut;
  }
  if (variant === "optimized" && typeof core.buildOpenAIRequest === "function") return core.buildOpenAIRequest(spec);
  return chatBody(
    { messages: [{ role: "system", content: spec.system }, ...spec.messages], tools: LLM_TOOLS },
    settings,
  );
}

/** The model's answer as tool calls or a text reply; throws AGENT_LLM_* on anything unusable. */
export function decodeDecision(r: ChatResult): AgentCall[] | string {
  if (r.toolCalls.length === 0) {
    let content = r.content?.trim();
    if (content?.startsWith("{")) {
      try {
        const reply = JSON.parse(content)?.reply; // the optimized prompt's structured reply
        if (typeof reply === "string") content = reply.trim();
      } catch { /* plain text */ }
    }
    if (!content) throw Object.assign(new Error("the model answered nothing"), { code: "AGENT_LLM_EMPTY" });
    return content.slice(0, 1000);
  }
  const known = new Set(LLM_TOOLS.map((t) => t.name));
  return r.toolCalls.slice(0, 1).map((c) => {
    if (!known.has(c.name)) {
      throw Object.assign(new Error("the model called an unknown tool"), { code: "AGENT_LLM_UNKNOWN_TOOL" });
    }
    return { name: c.name as ToolName, args: c.args };
  });
}

/** Asks the model for tool calls (original prompt, no cache, breaker or usage row); throws
 *  (OpenAIError or AGENT_LLM_*) on anything unusable. */
export async function llmDecide(
  text: string,
  settings: OpenAISettings,
  timeoutMs: number,
): Promise<AgentCall[] | string> {
  return decodeDecision(await chatCompletion(llmRequest(text, "original", settings), { timeoutMs, settings }));
}
