// Shadow mode for the agent's new (llm) pipeline.
//
// For a sampled share of the messages the legacy pipeline served (the flag SHADOW_NEW_PIPELINE
// for the customer when that flag exists, else AGENT_SHADOW_SAMPLE, a share 0..1, default 0), the
// model is asked for its tool calls WITHOUT executing any of them; its choice is compared with the
// legacy one by the core's outputSimilarity (tool calls against tool calls, text against the legacy
// reply's text) and stored in shadow_comparisons (tool names and scores only: no arguments, no
// text, no phone). The call writes its own usage row (shadow = true, through ai_guard.ts).
//
// The work runs in the background: EdgeRuntime.waitUntil when the runtime has it, else on a timer
// after the agent has returned its reply. It never throws and never changes the reply.
// `shadowIdle()` waits for the pending ones (tests).
import type { Queryable } from "../platform/db.ts";
import { envNonNegative } from "../platform/env.ts";
import type { Logger } from "../platform/log.ts";
import { flagFor } from "./ai_guard.ts";
import * as core from "../platform/trimtab.ts";

export const SHADOW_FLAG = "SHADOW_NEW_PIPELINE";

/** One tool call as both pipelines describe them. */
export interface ShadowCall {
  name: string;
  args: Record<string, unknown>;
}

export interface ShadowJob {
  flagKey: string;
  correlationId: string;
  db: Queryable;
  log: Logger;
  legacy: { calls: ShadowCall[]; reply: string; latencyMs: number };
  /** Asks the new pipeline (through guardedChat with shadow: true); never executes anything. */
  ask(): Promise<{ value: ShadowCall[] | string; latencyMs: number; variant: string }>;
}

const pending = new Set<Promise<void>>();

/** Whether this message of `phone` is shadowed. */
export async function shadowSampled(phone: string): Promise<boolean> {
  const f = await flagFor(SHADOW_FLAG, phone);
  if (f) return f.enabled;
  const share = envNonNegative("AGENT_SHADOW_SAMPLE");
  if (!Number.isFinite(share) || share <= 0) return false;
  return share >= 1 || Math.random() < share;
}

/** Starts the shadow run in the background. */
export function startShadow(job: ShadowJob): void {
  const rt = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } }).EdgeRuntime;
  const work = typeof rt?.waitUntil === "function"
    ? runShadow(job)
    : new Promise<void>((resolve) => setTimeout(() => runShadow(job).then(resolve), 0));
  pending.add(work);
  work.finally(() => pending.delete(work));
  if (typeof rt?.waitUntil === "function") rt.waitUntil(work);
}

/** Resolves when no shadow run is pending. */
export async function shadowIdle(): Promise<void> {
  while (pending.size) await Promise.all([...pending]);
}

function similarity(job: ShadowJob, value: ShadowCall[] | string): number {
  if (typeof core.outputSimilarity !== "function") return 0;
  const s = typeof value === "string"
    ? core.outputSimilarity(job.legacy.reply, value)
    : core.outputSimilarity(job.legacy.calls, value);
  return Number.isFinite(s) ? Math.max(0, Math.min(1, s)) : 0;
}

async function runShadow(job: ShadowJob): Promise<void> {
  try {
    let sim = 0, newMs: number | null = null, newError: string | null = null;
    let newTools: string[] | "text" = [];
    let variant: string | null = null;
    const t0 = performance.now();
    try {
      const r = await job.ask();
      newMs = Math.round(r.latencyMs);
      variant = r.variant;
      newTools = typeof r.value === "string" ? "text" : r.value.map((c) => c.name);
      sim = similarity(job, r.value);
    } catch (e) {
      const c = (e as { code?: unknown })?.code;
      newError = typeof c === "string" && /^[A-Z0-9_]{2,60}$/.test(c) ? c : "AGENT_LLM_ERROR";
      newMs = Math.round(performance.now() - t0);
    }
    const details = { oldTools: job.legacy.calls.map((c) => c.name), newTools, variant };
    await job.db.query(
      `insert into trimtab.shadow_comparisons (flag_key, correlation_id, similarity, old_latency_ms, new_latency_ms, new_error, details)
       values ($1, $2, $3, $4, $5, $6, $7::text::jsonb)`,
      [job.flagKey, job.correlationId, sim, Math.round(job.legacy.latencyMs), newMs, newError, details],
    );
    job.log.info("shadow comparison", { similarity: sim, newError, oldTools: details.oldTools, newTools });
  } catch (e) {
    job.log.warn("shadow comparison failed", { code: (e as { code?: unknown })?.code });
  }
}
