// The chat agent: the same tools behind two pipelines.
//
// - legacy: a deterministic command parser ("hello", "help", "lookup +250788000000",
//   "create voucher 10000 for +250788000000", "redeem CODE", "void CODE") -> tool calls;
// - llm (the "phoenix" pipeline): OpenAI chat completions with tool definitions picks the tool
//   calls (never executes anything itself; its tool calls are validated and run here).
//
// Which one answers a customer is the flag `phoenix_pipeline_enabled`, evaluated with the customer's
// E.164 phone as the unit (so the rollout is sticky per customer). With no OPENAI_API_KEY, or with
// AI_PIPELINE=legacy (the environment variable, or the flag AI_PIPELINE on: safety/ai_guard.ts
// `legacyForced`), the legacy pipeline serves and nothing is shadowed. Any error or timeout (AGENT_LLM_TIMEOUT_MS, default 8000) of the llm pipeline
// falls back to the legacy one for that message: the reply's metadata says so (`fallback`) and a
// warn line "agent fallback to legacy" with the reason and the correlation id is logged.
//
// Before either pipeline runs, a per-customer token bucket (AGENT_RATE_LIMIT_PER_MIN, default 10 a
// minute, in this isolate) may refuse the message politely: no LLM call, no tool call.
//
// Who may do what: anyone may greet, ask for help, look themselves up and redeem their own
// vouchers (the holder check is in vouchers.ts). Looking up another customer, creating and voiding
// vouchers are staff operations: the sender's phone must be in AGENT_STAFF_PHONES (comma
// separated E.164 numbers; empty by default, so nobody). Each tool also needs its feature switch:
// FEATURE_AGENT_CUSTOMER_LOOKUP (lookup), FEATURE_AGENT_VOUCHERS (create, redeem, void), evaluated
// like the ai-* tool functions do (the phone the request names, else "global").
//
// The two pipelines run as one safeMigration (safety/migration.ts, `chatMigration`): the flag
// picks the path per customer, the new one falls back to the legacy one, shadow runs, usage rows.
// Safety loop (the machinery is in ai_guard.ts, response_cache.ts and shadow.ts): the
// customer's USE_OPTIMIZED_PROMPTS variant "optimized" sends the core's buildOpenAIRequest body
// (structured reply, tools), anything else the original hand-built one; both are cut to
// AGENT_PROMPT_TOKEN_BUDGET (default 4000) estimated tokens. USE_RESPONSE_CACHE reads the model's
// decision through the response cache; the circuit breaker (USE_CIRCUIT_BREAKER shadow,
// ENFORCE_CIRCUIT_BREAKER enforce) may skip the model (fallback CIRCUIT_OPEN); every call writes a
// usage row (legacy: provider "legacy", model "parser"); messages the legacy pipeline served may
// be shadowed by the new one (never served, no tool executed).
import { flagFor, guardedChat, legacyForced, resetBreakers, statusOf } from "../safety/ai_guard.ts";
import type { Db } from "../platform/db.ts";
import { type Feature, feature } from "./features.ts";
import { HttpError } from "../platform/http.ts";
import type { Logger } from "../platform/log.ts";
import { decodeDecision, llmRequest, PROMPT_FLAG, promptVariant } from "./agent_llm.ts";
import { openaiSettings } from "../safety/openai.ts";
import { type MigrationContext, safeMigration } from "../safety/migration.ts";
import { defaultSimilarity } from "../safety/shadow.ts";
import { onDbChange } from "../platform/store.ts";
import { normalizePhone, RateLimiter } from "../platform/trimtab.ts";
import {
  type Actor,
  createVoucher,
  lookupCustomer,
  redeemVoucher,
  voidVoucher,
  type Voucher,
  voucherPolicy,
} from "./vouchers.ts";
import { env, envNonNegative, envPositive } from "../platform/env.ts";

/** The flag that moves customers to the llm pipeline. */
export const PIPELINE_FLAG = "phoenix_pipeline_enabled";
export {
  decodeDecision,
  LLM_TOOLS,
  llmDecide,
  llmRequest,
  PROMPT_FLAG,
  type PromptVariant,
  promptVariant,
} from "./agent_llm.ts";
/** The companion flag that shadows units the pipeline flag leaves on the legacy pipeline. */
export const SHADOW_FLAG = "SHADOW_NEW_PIPELINE";
/** The response cache switch. */
export const CACHE_FLAG = "USE_RESPONSE_CACHE";
/** The `feature` of the agent's usage rows. */
export const USAGE_FEATURE = "agent_chat";

export type ToolName = "greet" | "help" | "lookup_customer" | "create_voucher" | "redeem_voucher" | "void_voucher";

/** One tool call, whichever pipeline chose it. Arguments are unvalidated until execution. */
export interface AgentCall {
  name: ToolName;
  args: Record<string, unknown>;
}

export interface AgentReply {
  text: string;
  /** The pipeline whose tool calls were executed. */
  pipeline: "legacy" | "llm";
  /** Set when the llm pipeline was chosen but failed: its error code (e.g. OPENAI_TIMEOUT). */
  fallback?: string;
  /** Why legacy served when it did without a fallback: "flag", "no_api_key", "no_config",
   *  "ai_pipeline" (AI_PIPELINE=legacy). */
  why?: string;
  tools: string[];
  rateLimited?: boolean;
  /** The llm pipeline's decision came from the response cache. */
  cached?: boolean;
  /** PII was found in the model's answer and masked (the flag was rolled back). */
  piiLeak?: boolean;
  correlationId: string;
}

export interface AgentInput {
  /** The sender's phone (any form normalizePhone accepts; a WhatsApp `from` gets a "+"). */
  phone: string;
  text: string;
  correlationId: string;
  log: Logger;
  db: Db;
}

// ---------------------------------------------------------------- settings

function staffPhones(): Set<string> {
  const out = new Set<string>();
  for (const p of (env("AGENT_STAFF_PHONES") ?? "").split(",")) {
    const s = p.trim();
    if (!s) continue;
    try {
      out.add(normalizePhone(s));
    } catch {
      // a bad entry grants nothing
    }
  }
  return out;
}

let limiter: { rl: RateLimiter; perMin: number } | null = null;

function rateLimiter(): RateLimiter {
  const perMin = Math.floor(envPositive("AGENT_RATE_LIMIT_PER_MIN"));
  if (!limiter || limiter.perMin !== perMin) {
    limiter?.rl.free();
    limiter = { rl: new RateLimiter(perMin, perMin, 100_000), perMin };
  }
  return limiter.rl;
}

/** Forgets the per-customer buckets (tests). */
export function resetAgent(): void {
  limiter?.rl.free();
  limiter = null;
  resetBreakers();
}
onDbChange(resetAgent);

/** A WhatsApp id ("250788000000") or any phone text in E.164 form; throws INVALID_PHONE. */
export function e164(phone: string): string {
  const p = phone.trim();
  return normalizePhone(/^\d+$/.test(p) ? `+${p}` : p);
}

// ---------------------------------------------------------------- replies

export const REPLIES = {
  greet:
    'Hello! I\'m the Trimtab assistant. I can look up vouchers, redeem them and (for staff) create or void them. Send "help" to see how.',
  help: [
    "Here is what I understand:",
    "• lookup — your vouchers (staff: lookup +250788000000)",
    "• redeem CODE — redeem one of your vouchers",
    "• create voucher 10000 for +250788000000 — staff only",
    "• void CODE — staff only",
  ].join("\n"),
  unknown: 'Sorry, I didn\'t understand that. Send "help" to see what I can do.',
  rateLimited: "You're sending messages a little fast. Please wait a minute and try again.",
  staffOnly: "Sorry, only staff can do that.",
  disabled: "Sorry, that isn't available right now.",
  notText: 'Sorry, I can only read text messages for now. Send "help" to see what I can do.',
  failed: "Sorry, something went wrong on our side. Please try again in a moment.",
} as const;

const ERROR_REPLIES: Record<string, string> = {
  INVALID_PHONE: "That phone number doesn't look right. Please use the international format, like +250788000000.",
  INVALID_CODE: "That voucher code doesn't look right. Please check it for a typo.",
  INVALID_AMOUNT: "The amount must be a whole number above zero (and not above the allowed maximum).",
  INVALID_CURRENCY: "That currency isn't accepted.",
  INVALID_EXPIRY: "That expiry date doesn't work; it must be in the future.",
  INVALID_INPUT: "Something in that request doesn't look right. Please check it and try again.",
  VOUCHER_NOT_FOUND: "I couldn't find a voucher with that code.",
  VOUCHER_NOT_ISSUED: "That voucher can't be used: it has already been redeemed or voided.",
  VOUCHER_EXPIRED: "Sorry, that voucher has expired.",
  NOT_OWNER: "That voucher belongs to another customer, so I can't redeem it for you.",
};

function money(amountMinor: number, currency: string): string {
  return `${amountMinor.toLocaleString("en-US")} ${currency}`;
}

function describe(v: Voucher): string {
  return `${v.code}: ${money(v.amountMinor, v.currency)}, ${v.status}${
    v.status === "issued" ? `, expires ${v.expiresAt.slice(0, 10)}` : ""
  }`;
}

// ---------------------------------------------------------------- legacy pipeline

const WORD = (s: string) => s.trim().replace(/\s+/g, " ");

/** The legacy command parser: text -> tool calls (never throws; unknown text is `help` with
 *  `unknown: true`). Arguments are validated when executed. */
export function parseCommand(text: string): AgentCall[] {
  const t = WORD(text ?? "").slice(0, 500);
  const l = t.toLowerCase();
  let m: RegExpExecArray | null;
  if (/^(hi|hello|hey|hallo|hola|bonjour|muraho|good (morning|afternoon|evening))\b[\s!.,]*$/.test(l)) {
    return [{ name: "greet", args: {} }];
  }
  if (/^(help|menu|\?|commands)[\s!.?]*$/.test(l)) return [{ name: "help", args: {} }];
  if ((m = /^(?:lookup|look up|find|customer)(?:\s+(.+))?$/i.exec(t))) {
    return [{ name: "lookup_customer", args: { phone: m[1]?.trim() || "me" } }];
  }
  if (
    (m =
      /^(?:create|issue|new)\s+(?:a\s+)?voucher\s+(?:of\s+)?([0-9][0-9,_]*)\s*([A-Za-z]{3})?\s+for\s+(\+?[0-9 ().-]{6,24})$/i
        .exec(t))
  ) {
    const amount = Number(m[1].replace(/[,_]/g, ""));
    return [{ name: "create_voucher", args: { amount, currency: m[2]?.toUpperCase() ?? null, phone: m[3].trim() } }];
  }
  if ((m = /^redeem(?:\s+voucher)?\s+(\S+)$/i.exec(t))) return [{ name: "redeem_voucher", args: { code: m[1] } }];
  if ((m = /^(?:void|cancel)(?:\s+voucher)?\s+(\S+)(?:\s+(?:because|reason:?)\s+(.+))?$/i.exec(t))) {
    return [{ name: "void_voucher", args: { code: m[1], reason: m[2] ?? null } }];
  }
  return [{ name: "help", args: { unknown: true } }];
}

// ---------------------------------------------------------------- execution

interface ExecCtx {
  sender: string;
  staff: boolean;
  who: Actor;
  db: Db;
  log: Logger;
}

async function featureOn(name: Feature, unit: string | undefined, x: ExecCtx): Promise<boolean> {
  const f = await feature(name, unit);
  if (!f.on) x.log.info("feature disabled", { feature: name, why: f.why });
  return f.on;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

async function execute(call: AgentCall, x: ExecCtx): Promise<string> {
  switch (call.name) {
    case "greet":
      return REPLIES.greet;
    case "help":
      return call.args.unknown ? REPLIES.unknown : REPLIES.help;
    case "lookup_customer": {
      const raw = str(call.args.phone).trim();
      const phone = raw === "" || /^(me|myself|self)$/i.test(raw) ? x.sender : e164(raw);
      if (phone !== x.sender && !x.staff) return REPLIES.staffOnly;
      if (!(await featureOn("FEATURE_AGENT_CUSTOMER_LOOKUP", phone, x))) return REPLIES.disabled;
      const c = await lookupCustomer(x.db, phone);
      const whose = phone === x.sender ? "You have" : `${phone} has`;
      if (!c) {
        return phone === x.sender
          ? "I couldn't find you as a customer yet."
          : `I couldn't find a customer with ${phone}.`;
      }
      if (c.vouchers.length === 0) return `${whose} no vouchers.`;
      const list = c.vouchers.slice(0, 10).map((v) => `• ${describe(v)}`).join("\n");
      return `${whose} ${c.vouchers.length} voucher${c.vouchers.length === 1 ? "" : "s"}:\n${list}`;
    }
    case "create_voucher": {
      if (!x.staff) return REPLIES.staffOnly;
      const phone = e164(str(call.args.phone));
      if (!(await featureOn("FEATURE_AGENT_VOUCHERS", phone, x))) return REPLIES.disabled;
      const currency = str(call.args.currency).trim().toUpperCase() || voucherPolicy().currencies?.[0] || "RWF";
      const amount = typeof call.args.amount === "number" ? call.args.amount : Number(str(call.args.amount));
      const v = await createVoucher(x.db, { phone, amount, currency }, x.who);
      x.log.info("voucher created", { voucherId: v.id });
      return `Done! Voucher ${v.code} for ${money(v.amountMinor, v.currency)} was created for ${phone}. It expires on ${
        v.expiresAt.slice(0, 10)
      }.`;
    }
    case "redeem_voucher": {
      if (!(await featureOn("FEATURE_AGENT_VOUCHERS", x.sender, x))) return REPLIES.disabled;
      const v = await redeemVoucher(x.db, str(call.args.code), x.sender, x.who);
      x.log.info("voucher redeemed", { voucherId: v.id });
      return `Your voucher ${v.code} for ${money(v.amountMinor, v.currency)} has been redeemed. Enjoy!`;
    }
    case "void_voucher": {
      if (!x.staff) return REPLIES.staffOnly;
      if (!(await featureOn("FEATURE_AGENT_VOUCHERS", undefined, x))) return REPLIES.disabled;
      const reason = str(call.args.reason).trim() || undefined;
      const v = await voidVoucher(x.db, str(call.args.code), x.who, reason);
      x.log.info("voucher voided", { voucherId: v.id });
      return `Voucher ${v.code} (${money(v.amountMinor, v.currency)}) has been voided.`;
    }
  }
}

/** Runs calls in order; a coded domain error becomes its friendly reply (anything else throws). */
async function executeAll(calls: AgentCall[], x: ExecCtx): Promise<string> {
  const out: string[] = [];
  for (const c of calls) {
    try {
      out.push(await execute(c, x));
    } catch (e) {
      const code = (e as { code?: unknown })?.code;
      if (
        typeof code === "string" && ERROR_REPLIES[code] &&
        (e instanceof HttpError || (e as Error)?.name === "TrimtabError")
      ) {
        x.log.info("tool refused", { tool: c.name, code });
        out.push(ERROR_REPLIES[code]);
      } else throw e;
    }
  }
  return out.join("\n\n");
}

// ---------------------------------------------------------------- the two pipelines (safeMigration)

/** What a pipeline decided for one message and, when served, what executing it replied. */
export interface AgentOutcome {
  /** The tool calls, or null for a text answer of the model. */
  calls: AgentCall[] | null;
  /** The reply (null for a shadow run's tool calls: nothing was executed). */
  text: string | null;
  cached?: boolean;
  piiLeak?: boolean;
  variant?: string;
}

interface Turn {
  input: AgentInput;
  sender: string;
  x: ExecCtx;
}

/** The llm decision for one message through the guard (cache, breaker, PII), its usage details
 *  reported to the migration's context; in shadow without the response cache. */
async function decideGuarded(t: Turn, ctx: MigrationContext) {
  const settings = openaiSettings();
  const variant = await promptVariant(t.sender);
  const cache = !ctx.shadow && (await flagFor(CACHE_FLAG, t.sender))?.enabled;
  const r = await guardedChat<AgentCall[] | string>({
    phone: t.sender,
    flagKey: PIPELINE_FLAG,
    promptVariant: variant,
    body: llmRequest(t.input.text, variant, settings),
    decode: decodeDecision,
    settings,
    timeoutMs: envPositive("AGENT_LLM_TIMEOUT_MS"),
    db: ctx.db,
    log: ctx.log,
    report: ctx.usage,
    cacheFlag: cache ? (variant === "optimized" ? PROMPT_FLAG : PIPELINE_FLAG) : undefined,
    shadow: ctx.shadow,
  });
  return { ...r, variant };
}

const toolNames = (calls: AgentCall[] | null) => (calls ?? []).map((c) => c.name);

/**
 * The chat pipelines as a migration: old = the legacy parser, executed; new = the model's
 * decision, executed as the effect "tools" (in shadow nothing runs: only the decision is
 * compared, tool names stored). No API key or AI_PIPELINE=legacy: the old path, never shadowed.
 * Shadowed: SHADOW_NEW_PIPELINE when that flag exists, else AGENT_SHADOW_SAMPLE of the messages.
 * The new path's time limit is twice AGENT_LLM_TIMEOUT_MS (the model call has its own).
 */
export const chatMigration = safeMigration<Turn, AgentOutcome>({
  flag: PIPELINE_FLAG,
  feature: USAGE_FEATURE,
  old: async (t) => {
    const calls = parseCommand(t.input.text);
    return { calls, text: await executeAll(calls, t.x) };
  },
  new: async (t, ctx) => {
    const d = await decideGuarded(t, ctx);
    const base = { variant: d.variant, ...(d.cached ? { cached: true } : {}), ...(d.piiLeak ? { piiLeak: true } : {}) };
    if (typeof d.value === "string") return { calls: null, text: d.value, ...base };
    const calls = d.value;
    const text = await ctx.effects.run("tools", () => executeAll(calls, t.x));
    return { calls, text: text ?? null, ...base };
  },
  timeoutMs: () => 2 * envPositive("AGENT_LLM_TIMEOUT_MS"),
  forceOld: async (unit) => {
    if (!openaiSettings().apiKey) return "no_api_key";
    return (await legacyForced(unit)) ? "ai_pipeline" : null;
  },
  shadow: { flag: SHADOW_FLAG, sample: () => envNonNegative("AGENT_SHADOW_SAMPLE") },
  compare: (old, neu) =>
    neu.calls ? defaultSimilarity(old.calls ?? [], neu.calls) : defaultSimilarity(old.text ?? "", neu.text ?? ""),
  shadowDetails: (old, neu) => ({
    oldTools: toolNames(old.calls),
    newTools: neu === null ? [] : neu.calls ? toolNames(neu.calls) : "text",
    variant: neu?.variant ?? null,
  }),
  provider: { old: "legacy", new: "openai" },
  model: { old: "parser" },
  defaultErrorCode: "AGENT_LLM_ERROR",
  statusOf,
});

// ---------------------------------------------------------------- the agent

/** Which pipeline serves `phone` now, and why. */
export async function choosePipeline(phone: string): Promise<{ pipeline: "legacy" | "llm"; why?: string }> {
  const d = await chatMigration.decide(phone);
  return d.path === "new" ? { pipeline: "llm" } : { pipeline: "legacy", why: d.why };
}

/**
 * Answers one customer message. Throws only on unexpected failures (database down, ...): the
 * caller then sends REPLIES.failed. Domain refusals (bad code, not the owner, ...) are replies.
 */
export async function runAgent(input: AgentInput): Promise<AgentReply> {
  const sender = e164(input.phone);
  const base = { correlationId: input.correlationId };
  const log = input.log;
  const gate = rateLimiter().check(sender);
  if (!gate.allowed) {
    log.info("rate limited", { retryAfterMs: gate.retryAfterMs });
    return { ...base, text: REPLIES.rateLimited, pipeline: "legacy", tools: [], rateLimited: true };
  }
  const x: ExecCtx = {
    sender,
    staff: staffPhones().has(sender),
    who: { actor: `whatsapp:${sender}`, correlationId: input.correlationId },
    db: input.db,
    log,
  };
  const started = Date.now();
  const r = await chatMigration.run({ input, sender, x }, {
    unit: sender,
    correlationId: input.correlationId,
    db: input.db,
    log,
  });
  if (r.fallback) log.warn("agent fallback to legacy", { reason: r.fallback, ms: Date.now() - started });
  const pipeline = r.path === "new" ? "llm" : "legacy";
  const o = r.value;
  const reply: AgentReply = {
    ...base,
    text: o.text ?? "",
    pipeline,
    tools: toolNames(o.calls),
    ...(r.fallback ? { fallback: r.fallback } : {}),
    ...(r.why ? { why: r.why } : {}),
    ...(o.cached ? { cached: true } : {}),
    ...(o.piiLeak ? { piiLeak: true } : {}),
  };
  log.info("agent reply", {
    pipeline,
    fallback: r.fallback,
    why: reply.why,
    tools: reply.tools,
    cached: Boolean(o.cached),
    piiLeak: Boolean(o.piiLeak),
  });
  return reply;
}
