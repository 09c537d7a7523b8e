// AI usage rows (table ai_usage_logs) and their windowed summary per flag and pipeline.
//
// `recordUsage` is called for every AI call (pipeline "new") and every message the legacy
// pipeline served (pipeline "old"); it never throws: a failed write is a warning, never a failed
// request. `usageSummary` aggregates one flag's rows since a moment, per pipeline, shadow rows
// excluded (they were never served): calls, errors (any status but ok), success and error
// rates, p50/p95 latency (percentile_cont), fallbacks, PII leaks, cache hits and cost per
// conversation (distinct correlation ids). The guard and GET /rollout-status read it.
// `usageHourly` and `topErrors` are the operators' views (GET /rollout-status, the dashboard):
// requests, errors, p95 and cost per conversation per hour and pipeline, and the most frequent
// error codes, of one flag or of every flag, served calls only (index ai_usage_logs_flag_at_served_idx).
import type { Queryable } from "../platform/db.ts";
import { log } from "../platform/log.ts";

export type Pipeline = "old" | "new";
export type UsageStatus = "ok" | "error" | "timeout" | "rejected";

/** One row of ai_usage_logs (camelCase). `at` defaults to now. */
export interface UsageRow {
  at?: Date | string;
  feature: string;
  flagKey?: string | null;
  pipeline: Pipeline;
  provider: string;
  model?: string | null;
  promptVariant?: string | null;
  tokensIn?: number;
  tokensOut?: number;
  latencyMs?: number;
  costUsd?: number;
  status: UsageStatus;
  fallback?: boolean;
  cached?: boolean;
  shadow?: boolean;
  /** A PII leak was detected in this call's output. */
  piiLeak?: boolean;
  correlationId?: string | null;
  errorCode?: string | null;
  /** The unit's bucket for the flag (0..999 999): counts units per path without storing them. */
  unitBucket?: number | null;
}

const nonNeg = (n: unknown, integer = true): number => {
  const v = Number(n);
  if (!Number.isFinite(v) || v < 0) return 0;
  return integer ? Math.min(Math.round(v), 2_147_483_647) : v;
};
const clip = (s: unknown, max: number): string | null => typeof s === "string" && s.length > 0 ? s.slice(0, max) : null;

/** Writes one usage row. Never throws (a failure is logged as a warning). */
export async function recordUsage(db: Queryable, row: UsageRow): Promise<void> {
  try {
    const at = row.at === undefined ? null : new Date(row.at);
    await db.query(
      `insert into trimtab.ai_usage_logs (at, feature, flag_key, pipeline, provider, model, prompt_variant,
         tokens_in, tokens_out, latency_ms, cost_usd, status, fallback, cached, shadow, pii_leak,
         correlation_id, error_code, unit_bucket)
       values (coalesce($1::timestamptz, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
         $16, $17, $18, $19)`,
      [
        at && !Number.isNaN(at.getTime()) ? at.toISOString() : null,
        clip(row.feature, 100) ?? "unknown",
        clip(row.flagKey, 128),
        row.pipeline,
        clip(row.provider, 64) ?? "unknown",
        clip(row.model, 200),
        clip(row.promptVariant, 200),
        nonNeg(row.tokensIn),
        nonNeg(row.tokensOut),
        nonNeg(row.latencyMs),
        nonNeg(row.costUsd, false),
        row.status,
        Boolean(row.fallback),
        Boolean(row.cached),
        Boolean(row.shadow),
        Boolean(row.piiLeak),
        clip(row.correlationId, 200),
        clip(row.errorCode, 100),
        Number.isInteger(row.unitBucket) && row.unitBucket! >= 0 && row.unitBucket! < 1_000_000
          ? row.unitBucket!
          : null,
      ],
    );
  } catch (e) {
    log.warn("usage row not written", {
      feature: row.feature,
      flag: row.flagKey,
      pipeline: row.pipeline,
      error: (e as Error)?.message?.slice(0, 200),
    });
  }
}

/** One pipeline's numbers over a window. */
export interface PipelineSummary {
  calls: number;
  /** every status but ok (error, timeout, rejected). */
  errors: number;
  successRate: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  fallbacks: number;
  piiLeaks: number;
  cached: number;
  costUsd: number;
  conversations: number;
  costPerConversation: number;
}

export interface UsageSummary {
  flagKey: string;
  since: string;
  old: PipelineSummary;
  new: PipelineSummary;
}

function empty(): PipelineSummary {
  return {
    calls: 0,
    errors: 0,
    successRate: 0,
    errorRate: 0,
    p50Ms: 0,
    p95Ms: 0,
    fallbacks: 0,
    piiLeaks: 0,
    cached: 0,
    costUsd: 0,
    conversations: 0,
    costPerConversation: 0,
  };
}

/** The flag's usage since `sinceMs` (epoch ms), per pipeline, shadow rows excluded. */
export async function usageSummary(db: Queryable, flagKey: string, sinceMs: number): Promise<UsageSummary> {
  const since = new Date(sinceMs).toISOString();
  const rows = await db.query<Record<string, unknown>>(
    `select pipeline,
            count(*) as calls,
            count(*) filter (where status <> 'ok') as errors,
            count(*) filter (where status = 'ok') as oks,
            coalesce(percentile_cont(0.5) within group (order by latency_ms), 0) as p50,
            coalesce(percentile_cont(0.95) within group (order by latency_ms), 0) as p95,
            count(*) filter (where fallback) as fallbacks,
            count(*) filter (where pii_leak or error_code = 'PII_LEAK') as pii,
            count(*) filter (where cached) as cached,
            coalesce(sum(cost_usd), 0) as cost,
            count(distinct correlation_id) as conversations
       from trimtab.ai_usage_logs
      where flag_key = $1 and at >= $2::timestamptz and not shadow
      group by pipeline`,
    [flagKey, since],
  );
  const out: UsageSummary = { flagKey, since, old: empty(), new: empty() };
  for (const r of rows) {
    const p = r.pipeline === "new" ? "new" : r.pipeline === "old" ? "old" : null;
    if (!p) continue;
    const calls = Number(r.calls), errors = Number(r.errors), oks = Number(r.oks);
    const cost = Number(r.cost), conversations = Number(r.conversations);
    out[p] = {
      calls,
      errors,
      successRate: calls ? oks / calls : 0,
      errorRate: calls ? errors / calls : 0,
      p50Ms: Math.round(Number(r.p50) * 100) / 100,
      p95Ms: Math.round(Number(r.p95) * 100) / 100,
      fallbacks: Number(r.fallbacks),
      piiLeaks: Number(r.pii),
      cached: Number(r.cached),
      costUsd: cost,
      conversations,
      costPerConversation: conversations ? cost / conversations : 0,
    };
  }
  return out;
}

/** One hour of one pipeline. */
export interface HourFigures {
  calls: number;
  errors: number;
  p95Ms: number;
  costUsd: number;
  conversations: number;
  costPerConversation: number;
}

/** Every hour from `sinceMs` to `nowMs` (oldest first), zeros where nothing was served. */
export async function usageHourly(
  db: Queryable,
  flagKey: string | null,
  sinceMs: number,
  nowMs: number,
): Promise<{ hour: string; old: HourFigures; new: HourFigures }[]> {
  const HOUR = 3_600_000;
  const start = Math.floor(sinceMs / HOUR) * HOUR;
  const rows = await db.query<Record<string, unknown>>(
    `select date_trunc('hour', at) as hour, pipeline, count(*) as calls,
            count(*) filter (where status <> 'ok') as errors,
            coalesce(percentile_cont(0.95) within group (order by latency_ms), 0) as p95,
            coalesce(sum(cost_usd), 0) as cost, count(distinct correlation_id) as conversations
       from trimtab.ai_usage_logs
      where not shadow and ($1::text is null or flag_key = $1) and at >= $2::timestamptz and at < $3::timestamptz
      group by 1, 2`,
    [flagKey, new Date(start).toISOString(), new Date(nowMs).toISOString()],
  );
  const zero = (): HourFigures => ({
    calls: 0,
    errors: 0,
    p95Ms: 0,
    costUsd: 0,
    conversations: 0,
    costPerConversation: 0,
  });
  const hours = new Map<number, { hour: string; old: HourFigures; new: HourFigures }>();
  for (let t = start; t <= nowMs; t += HOUR) {
    hours.set(t, { hour: new Date(t).toISOString(), old: zero(), new: zero() });
  }
  for (const r of rows) {
    const t = r.hour instanceof Date ? r.hour.getTime() : Date.parse(String(r.hour));
    const slot = hours.get(t);
    const p = r.pipeline === "new" ? "new" : r.pipeline === "old" ? "old" : null;
    if (!slot || !p) continue;
    const cost = Number(r.cost), conversations = Number(r.conversations);
    slot[p] = {
      calls: Number(r.calls),
      errors: Number(r.errors),
      p95Ms: Math.round(Number(r.p95) * 100) / 100,
      costUsd: cost,
      conversations,
      costPerConversation: conversations ? cost / conversations : 0,
    };
  }
  return [...hours.values()];
}

/** The most frequent error codes since `sinceMs`, per pipeline (a failed call without a code
 *  counts under its status). */
export async function topErrors(
  db: Queryable,
  flagKey: string | null,
  sinceMs: number,
  limit = 10,
): Promise<{ code: string; pipeline: Pipeline; count: number }[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select coalesce(error_code, upper(status)) as code, pipeline, count(*) as n
       from trimtab.ai_usage_logs
      where not shadow and ($1::text is null or flag_key = $1) and at >= $2::timestamptz
        and (status <> 'ok' or error_code is not null)
      group by 1, 2 order by 3 desc, 1, 2 limit $3`,
    [flagKey, new Date(sinceMs).toISOString(), limit],
  );
  return rows.map((r) => ({
    code: String(r.code),
    pipeline: r.pipeline === "new" ? "new" : "old",
    count: Number(r.n),
  }));
}

/** Retention (what the pg_cron jobs do on Supabase): usage rows older than 90 days, shadow
 *  comparisons older than 30 days and expired cache entries; returns what went. */
export async function purgeSafetyData(db: Queryable): Promise<{ usage: number; shadow: number; cache: number }> {
  const [r] = await db.query<{ r: unknown }>("select trimtab.purge_safety_data() as r");
  const v = (typeof r?.r === "string" ? JSON.parse(r.r) : r?.r ?? {}) as Record<string, unknown>;
  return { usage: Number(v.usage ?? 0), shadow: Number(v.shadow ?? 0), cache: Number(v.cache ?? 0) };
}
