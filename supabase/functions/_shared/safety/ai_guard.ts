// The safety around every call the agent makes to a model: the response cache, the
// circuit breaker per provider, PII scanning, and the usage details of each call (reported to
// safeMigration, migration.ts, which writes the call's usage row).
//
// Circuit breaker: one core CircuitBreaker per provider in this isolate (AGENT_BREAKER_WINDOW_MS,
// AGENT_BREAKER_MIN_CALLS, AGENT_BREAKER_ERROR_THRESHOLD, AGENT_BREAKER_RESET_MS; the core's
// defaults otherwise). Every call's outcome is recorded (errors and timeouts are failures; a
// well-formed answer the agent refuses is not the provider's fault). Whether it is consulted is
// per customer: ENFORCE_CIRCUIT_BREAKER on -> an open breaker skips the call (CIRCUIT_OPEN, the
// caller falls back); else USE_CIRCUIT_BREAKER on -> shadow: the call still goes out and a warn
// line "breaker would have blocked" is logged; neither -> not consulted.
//
// PII: a text answer of the model is scanned with the core's detectors (scanPii: phones, emails,
// voucher codes) before it is returned to be sent. A leak is masked in the answer, logged (error,
// kinds and counts only), recorded on the usage row (pii_leak) and, for a served call, rolls the
// flag back at once (guard.ts `rollbackNow`: audited as the guard, the PII_LEAK reason); a masked
// answer is never cached. Tool calls are not scanned: their arguments are validated and run by
// trimtab, and the replies built from their results come from the database, not the model.
//
// AI_PIPELINE (`legacyForced`): the environment variable AI_PIPELINE=legacy, or the flag AI_PIPELINE
// on for the unit (e.g. adminOverride "on"), sends every AI path to the old pipeline: the agent's
// chat answers with the legacy parser (no model call, no shadow call), voice calls are rejected.
//
// Usage details (`report`, safeMigration's ctx.usage): provider, model, prompt variant, tokens from
// the answer's usage, cost from the price table, cache hits and PII leaks; safeMigration adds the
// latency and status (ok | error | timeout | rejected) and writes one row per call, shadow or not.
// Prices are USD per million tokens, input and output, by model (longest matching prefix);
// AI_PRICES (JSON { "<model>": { "in": n, "out": n } }) adds to or overrides the defaults.
import { currentConfig } from "../flags/config.ts";
import type { Db } from "../platform/db.ts";
import { env, envPositive, type SettingName } from "../platform/env.ts";
import type { Logger } from "../platform/log.ts";
import { chatCompletion, type ChatResult, type OpenAISettings } from "./openai.ts";
import { rollbackNow } from "./guard.ts";
import { cacheGet, cachePut } from "./response_cache.ts";
import * as core from "../platform/trimtab.ts";
import type { UsageDetails } from "./migration.ts";

export const BREAKER_FLAG = "USE_CIRCUIT_BREAKER";
export const ENFORCE_FLAG = "ENFORCE_CIRCUIT_BREAKER";
/** The one switch that sends every AI path to the old pipeline (flag and environment variable). */
export const AI_PIPELINE = "AI_PIPELINE";

// ---------------------------------------------------------------- flags

/** The flag's evaluation for `phone`, or null when there is no such flag or no configuration. */
export async function flagFor(key: string, phone: string): Promise<{ enabled: boolean; variant?: string } | null> {
  try {
    const view = await currentConfig();
    if (!view.config.keys.has(key)) return null;
    const e = view.config.engine.evaluate(key, { userId: phone });
    return { enabled: e.enabled, variant: e.variant };
  } catch {
    return null;
  }
}

/** Whether every AI path must use the old pipeline for `unit` (AI_PIPELINE, see the module docs). */
export async function legacyForced(unit: string | undefined): Promise<boolean> {
  if (env("AI_PIPELINE")?.toLowerCase() === "legacy") return true;
  return (await flagFor(AI_PIPELINE, unit ?? "global"))?.enabled === true;
}

// ---------------------------------------------------------------- breaker

type Breaker = InstanceType<typeof core.CircuitBreaker>;
const breakers = new Map<string, Breaker>();
let clock: () => number = () => Date.now();

/** Replaces the breakers' clock (tests); null restores Date.now. */
export function setBreakerClock(fn: (() => number) | null): void {
  clock = fn ?? (() => Date.now());
}

/** Forgets every breaker (tests; settings changed). */
export function resetBreakers(): void {
  for (const b of breakers.values()) {
    try {
      b.free();
    } catch { /* already freed */ }
  }
  breakers.clear();
}

/** The isolate's breaker for `provider` (null while the core has none). */
export function breakerFor(provider: string): Breaker | null {
  let b = breakers.get(provider);
  if (b) return b;
  if (typeof core.CircuitBreaker !== "function") return null;
  const cfg: Record<string, number> = {};
  const num = (name: SettingName, key: string, opts: { integer?: boolean } = {}) => {
    const v = envPositive(name, opts);
    if (Number.isFinite(v)) cfg[key] = v;
  };
  num("AGENT_BREAKER_WINDOW_MS", "windowMs", { integer: true });
  num("AGENT_BREAKER_MIN_CALLS", "minCalls", { integer: true });
  num("AGENT_BREAKER_ERROR_THRESHOLD", "errorThreshold");
  num("AGENT_BREAKER_RESET_MS", "resetTimeoutMs", { integer: true });
  b = new core.CircuitBreaker(cfg);
  breakers.set(provider, b);
  return b;
}

export type BreakerMode = "off" | "shadow" | "enforce";

/** How the breaker applies to `phone`'s calls now. */
export async function breakerMode(phone: string): Promise<BreakerMode> {
  if ((await flagFor(ENFORCE_FLAG, phone))?.enabled) return "enforce";
  if ((await flagFor(BREAKER_FLAG, phone))?.enabled) return "shadow";
  return "off";
}

// ---------------------------------------------------------------- prices

const DEFAULT_PRICES: Record<string, { in: number; out: number }> = {
  "gpt-4o-mini": { in: 0.15, out: 0.6 },
  "gpt-4o": { in: 2.5, out: 10 },
  "gpt-4.1-nano": { in: 0.1, out: 0.4 },
  "gpt-4.1-mini": { in: 0.4, out: 1.6 },
  "gpt-4.1": { in: 2, out: 8 },
  "gpt-5-mini": { in: 0.25, out: 2 },
  "gpt-5": { in: 1.25, out: 10 },
};

function prices(): Record<string, { in: number; out: number }> {
  const out = { ...DEFAULT_PRICES };
  const raw = env("AI_PRICES");
  if (!raw) return out;
  try {
    const p = JSON.parse(raw);
    for (const [k, v] of Object.entries(p ?? {})) {
      const e = v as { in?: unknown; out?: unknown };
      if (typeof e?.in === "number" && typeof e?.out === "number" && e.in >= 0 && e.out >= 0) {
        out[k] = { in: e.in, out: e.out };
      }
    }
  } catch { /* a bad table changes nothing */ }
  return out;
}

/** USD cost of a call (0 for unknown models). */
export function costUsd(model: string, tokensIn: number, tokensOut: number): number {
  const table = prices();
  const key =
    Object.keys(table).filter((k) => model === k || model.startsWith(`${k}-`)).sort((a, b) => b.length - a.length)[0];
  if (!key) return 0;
  return (tokensIn * table[key].in + tokensOut * table[key].out) / 1_000_000;
}

// ---------------------------------------------------------------- the guarded call

/** The usage status of a failure code of the model call. */
export function statusOf(code: string): "error" | "timeout" | "rejected" {
  if (/TIMEOUT/.test(code)) return "timeout";
  if (code === "CIRCUIT_OPEN" || code.startsWith("AGENT_LLM_")) return "rejected";
  return "error";
}

export interface GuardedCall<T> {
  /** The customer (E.164): flags are evaluated for it; it never leaves this isolate. */
  phone: string;
  flagKey: string;
  promptVariant: string;
  /** The chat completions body (no PII). */
  body: Record<string, unknown>;
  /** Turns an answer into the value (throws a coded error when unusable). Must be JSON. */
  decode(r: ChatResult): T;
  settings: OpenAISettings;
  timeoutMs: number;
  db: Db;
  log: Logger;
  /** Receives the call's usage details (safeMigration's `ctx.usage`: they go on its usage row). */
  report(details: UsageDetails): void;
  /** Read through the response cache, entries tagged with this flag key. */
  cacheFlag?: string;
  /** A shadow call (never served). */
  shadow?: boolean;
}

export interface GuardedResult<T> {
  value: T;
  cached: boolean;
  latencyMs: number;
  cacheKey?: string;
  /** PII found (and masked) in the answer. */
  piiLeak?: boolean;
}

/** Calls the model through the cache and the breaker, reporting tokens, cost, cache hits and PII
 *  leaks through `report`. Throws a coded error (CIRCUIT_OPEN, OPENAI_*, AGENT_LLM_*, ...) when
 *  the call cannot be served. */
export async function guardedChat<T>(c: GuardedCall<T>): Promise<GuardedResult<T>> {
  const provider = "openai";
  const model = typeof c.body.model === "string" ? c.body.model : c.settings.model;
  c.report({ provider, model, promptVariant: c.promptVariant });
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);

  let cacheKey: string | undefined;
  if (c.cacheFlag && typeof core.promptCacheKey === "function") {
    try {
      cacheKey = core.promptCacheKey(c.body);
    } catch (e) {
      c.log.warn("no cache key: response cache skipped", { code: (e as { code?: unknown })?.code });
    }
  }
  let epoch = -1;
  if (cacheKey && c.cacheFlag) {
    const read = await cacheGet(c.db, cacheKey, c.cacheFlag);
    if (read.hit) {
      c.report({ cached: true });
      c.log.info("llm answer from the response cache", { flag: c.cacheFlag });
      return { value: read.response as T, cached: true, latencyMs: elapsed(), cacheKey };
    }
    epoch = read.epoch;
  }

  const breaker = breakerFor(provider);
  const mode = breaker ? await breakerMode(c.phone) : "off";
  if (breaker && mode !== "off") {
    const gate = breaker.allow(clock());
    if (!gate.allowed) {
      if (mode === "enforce") {
        c.log.warn("circuit breaker open: llm skipped", { provider, state: gate.state, shadow: c.shadow });
        c.report({ skipRow: true }); // no call was made: the fallback's row records the refusal
        throw Object.assign(new Error(`the ${provider} circuit breaker is open`), { code: "CIRCUIT_OPEN" });
      }
      c.log.warn("breaker would have blocked", { provider, state: gate.state });
    }
  }

  let r: ChatResult;
  let value: T;
  try {
    r = await chatCompletion(c.body, { timeoutMs: c.timeoutMs, settings: c.settings });
  } catch (e) {
    breaker?.record(false, clock());
    throw e;
  }
  breaker?.record(true, clock());
  const latencyMs = elapsed();
  const tokensIn = r.usage?.tokensIn ?? 0, tokensOut = r.usage?.tokensOut ?? 0;
  c.report({
    model: r.model ?? model,
    tokensIn,
    tokensOut,
    costUsd: costUsd(r.model ?? model, tokensIn, tokensOut),
  });
  value = c.decode(r);
  const leak = typeof value === "string" ? scan(value) : null;
  if (leak) {
    value = leak.text as T;
    c.report({ piiLeak: true });
    c.log.error("PII leak masked in a model answer", {
      flag: c.flagKey,
      phones: leak.phones,
      emails: leak.emails,
      vouchers: leak.vouchers,
      shadow: Boolean(c.shadow),
    });
  }
  if (leak && !c.shadow) {
    const reason = {
      code: "PII_LEAK",
      message: `the new pipeline's answer held ${leak.total} PII item(s) (masked before sending)`,
      level: "critical" as const,
      value: leak.total,
      threshold: 0,
    };
    await rollbackNow(c.db, c.flagKey, [reason]).catch((e) =>
      c.log.error("immediate rollback failed", { flag: c.flagKey, err: e })
    );
  }
  if (cacheKey && c.cacheFlag && !leak) await cachePut(c.db, cacheKey, c.cacheFlag, value, epoch);
  return { value, cached: false, latencyMs, cacheKey, ...(leak ? { piiLeak: true } : {}) };
}

/** The core's PII scan of a model's text answer; null when it holds none. */
function scan(text: string): { text: string; phones: number; emails: number; vouchers: number; total: number } | null {
  if (typeof core.scanPii !== "function") return null;
  const s = core.scanPii(text);
  return s.total > 0 ? s : null;
}
