// The cutover gate: a ramp to 100 % (or adminOverride "on") of a flag whose shadow comparisons
// argue against it is refused, whether the guard advances it or an admin does.
//
// `shadowSummary(q, flag, sinceMs)` summarises trimtab.shadow_comparisons of one flag since a
// moment: samples, mean and median similarity, old and new p95 latency and their ratio (an old
// p95 under 1 ms counts as 1 ms: the legacy parser answers in microseconds), and the share of
// comparisons where the new pipeline failed. `cutoverGate(q, flag, metadata, nowMs)` reads the
// last TRIMTAB_CUTOVER_WINDOW_MS (default 24 h) and asks the core's `cutoverGate` with the flag's
// thresholds (metadata.guard: cutoverMinSimilarity, cutoverMaxLatencyRatio, cutoverMaxErrorRate,
// cutoverMinSamples, requireCutover): required always (requireCutover true), never (false), or
// when the flag has comparisons in the window; when required, it passes only on at least
// cutoverMinSamples comparisons meeting every criterion.
//
// The admin API (flags/admin.ts) cannot import this layer: flags-admin's index.ts hands
// `rampGate` to it (flags/admin_gate.ts).
import type { Queryable } from "../platform/db.ts";
import { envPositive } from "../platform/env.ts";
import * as core from "../platform/trimtab.ts";
import type { CutoverResult, ShadowSummary } from "../platform/trimtab.ts";
import type { RampGate } from "../flags/admin_gate.ts";

/** A flag's shadow comparisons over a window, as rollout-status shows them. */
export interface ShadowView extends ShadowSummary {
  since: string;
  similarityP50: number;
  oldP95Ms: number;
  newP95Ms: number;
  errors: number;
}

const guardSettings = (metadata: unknown): unknown => {
  const m = typeof metadata === "string" ? safeParse(metadata) : metadata;
  return m && typeof m === "object" && !Array.isArray(m) ? (m as Record<string, unknown>).guard ?? null : null;
};

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** The shadow comparisons of `flag` since `sinceMs`. */
export async function shadowSummary(q: Queryable, flag: string, sinceMs: number): Promise<ShadowView> {
  const since = new Date(sinceMs).toISOString();
  const [r] = await q.query<Record<string, unknown>>(
    `select count(*) as n,
            coalesce(avg(similarity), 0) as sim,
            coalesce(percentile_cont(0.5) within group (order by similarity), 0) as sim50,
            coalesce(percentile_cont(0.95) within group (order by old_latency_ms), 0) as old95,
            coalesce(percentile_cont(0.95) within group (order by new_latency_ms), 0) as new95,
            count(*) filter (where new_error is not null) as errors
       from trimtab.shadow_comparisons
      where flag_key = $1 and at >= $2::timestamptz`,
    [flag, since],
  );
  const samples = Number(r?.n ?? 0), errors = Number(r?.errors ?? 0);
  const old95 = Number(r?.old95 ?? 0), new95 = Number(r?.new95 ?? 0);
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    since,
    samples,
    similarity: round(Number(r?.sim ?? 0)),
    similarityP50: round(Number(r?.sim50 ?? 0)),
    oldP95Ms: Math.round(old95),
    newP95Ms: Math.round(new95),
    latencyRatio: samples ? round(new95 / Math.max(old95, 1)) : 0,
    errorRate: samples ? round(errors / samples) : 0,
    errors,
  };
}

/** The gate for `flag` now: the summary and the core's answer. */
export async function cutoverGate(
  q: Queryable,
  flag: string,
  metadata: unknown,
  nowMs = Date.now(),
): Promise<{ summary: ShadowView; result: CutoverResult }> {
  const summary = await shadowSummary(q, flag, nowMs - envPositive("TRIMTAB_CUTOVER_WINDOW_MS"));
  return { summary, result: core.cutoverGate(summary, guardSettings(metadata) as never) };
}

/** The gate as the admin API takes it (flags/admin_gate.ts). */
export const rampGate: RampGate = async (tx, flag) => {
  const { summary, result } = await cutoverGate(tx, flag.key, flag.metadata);
  return { ok: result.ok, required: result.required, reasons: result.reasons, summary };
};
