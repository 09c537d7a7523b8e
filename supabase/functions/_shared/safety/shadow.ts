// Shadow runs: after the old path served a unit, the new path is run on the same input without
// being served (safeMigration, migration.ts, starts them and hands the new path its shadow
// marker: no effects, a read-only database). Its output is compared with the old one (by default
// the core's outputSimilarity; a migration may bring its own comparison) and stored in
// shadow_comparisons: the score, both latencies, the new path's error code and the details the
// migration chooses to keep (e.g. tool names; never the outputs themselves, which may hold PII).
// The cutover gate (cutover.ts) reads these rows.
//
// The work runs in the background: EdgeRuntime.waitUntil when the runtime has it, else on a timer
// after the caller has its answer. It never throws and never changes what was served.
// `shadowIdle()` waits for the pending ones (tests).
import type { Queryable } from "../platform/db.ts";
import type { Logger } from "../platform/log.ts";
import * as core from "../platform/trimtab.ts";

/** One shadow run of a migration's new path. */
export interface ShadowJob<O> {
  flagKey: string;
  correlationId: string;
  db: Queryable;
  log: Logger;
  /** What the old path served, and how long it took. */
  old: { value: O; latencyMs: number };
  /** Runs the new path in shadow (it writes its own usage row); throws a coded error on failure. */
  ask(): Promise<{ value: O; latencyMs: number; skippedEffects: number }>;
  /** Similarity of the two outputs, 0..1. */
  compare(old: O, neu: O): number;
  /** What to store besides the score (no outputs, no personal data); `neu` is null on failure. */
  details?(old: O, neu: O | null): Record<string, unknown>;
  /** The code stored for an uncoded failure of the new path. */
  defaultErrorCode: string;
}

const pending = new Set<Promise<void>>();

/** The core's similarity of two outputs, clamped to 0..1 (0 when it cannot compare them). */
export function defaultSimilarity(old: unknown, neu: unknown): number {
  if (typeof core.outputSimilarity !== "function") return 0;
  try {
    const s = core.outputSimilarity(old, neu);
    return Number.isFinite(s) ? Math.max(0, Math.min(1, s)) : 0;
  } catch {
    return 0;
  }
}

/** An error's stable code (`[A-Z][A-Z0-9_]`; a Postgres SQLSTATE as `DB_<sqlstate>`), else `fallback`. */
export function errorCodeOf(e: unknown, fallback: string): string {
  const c = (e as { code?: unknown })?.code;
  if (typeof c !== "string") return fallback;
  if (/^(?=.*\d)[0-9A-Z]{5}$/.test(c)) return `DB_${c}`;
  return /^[A-Z][A-Z0-9_]{1,59}$/.test(c) ? c : fallback;
}

/** Starts the shadow run in the background. */
export function startShadow<O>(job: ShadowJob<O>): void {
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

async function runShadow<O>(job: ShadowJob<O>): Promise<void> {
  try {
    let sim = 0, newMs: number | null = null, newError: string | null = null, skipped = 0;
    let neu: O | null = null;
    const t0 = performance.now();
    try {
      const r = await job.ask();
      newMs = Math.round(r.latencyMs);
      neu = r.value;
      skipped = r.skippedEffects;
      const s = job.compare(job.old.value, r.value);
      sim = Number.isFinite(s) ? Math.max(0, Math.min(1, s)) : 0;
    } catch (e) {
      newError = errorCodeOf(e, job.defaultErrorCode);
      newMs = Math.round(performance.now() - t0);
    }
    let details: Record<string, unknown> = {};
    try {
      details = job.details?.(job.old.value, neu) ?? {};
    } catch (e) {
      job.log.warn("shadow details failed", { code: errorCodeOf(e, "DETAILS_ERROR") });
    }
    if (skipped > 0) details = { ...details, skippedEffects: skipped };
    await job.db.query(
      `insert into trimtab.shadow_comparisons (flag_key, correlation_id, similarity, old_latency_ms, new_latency_ms, new_error, details)
       values ($1, $2, $3, $4, $5, $6, $7::text::jsonb)`,
      [job.flagKey, job.correlationId, sim, Math.round(job.old.latencyMs), newMs, newError, details],
    );
    job.log.info("shadow comparison", { flag: job.flagKey, similarity: sim, newError, ...details });
  } catch (e) {
    job.log.warn("shadow comparison failed", { code: (e as { code?: unknown })?.code });
  }
}
