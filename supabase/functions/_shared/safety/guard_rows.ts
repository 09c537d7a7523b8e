// The guard's reading of flag rows and its writes (guard.ts runs the loop): which flags are
// ramping, when their stage began, their guard settings, and the audited rollback, decision rows
// and rollback-frequency alert every path of the guard shares (the timer, POST /flags-admin/guard,
// the immediate rollback of a PII leak).
import { raiseAlert } from "../platform/alerts.ts";
import type { AlertMessage } from "../platform/notify.ts";
import type { Queryable, Tx } from "../platform/db.ts";
import * as core from "../platform/trimtab.ts";
import type { PipelineMetrics, RolloutCheck, RolloutReason } from "../platform/trimtab.ts";
import type { UsageSummary } from "./usage.ts";

export const GUARD_ACTOR = "guard";
const DAY_MS = 24 * 3600 * 1000;

export interface FlagRow {
  key: string;
  enabled: boolean;
  admin_override: string | null;
  rollout_percentage: unknown;
  stages: unknown;
  schedule: unknown;
  metadata: unknown;
  created_at: unknown;
}

export interface GuardDecision {
  flag: string;
  action: "advance" | "hold" | "rollback";
  reasons: RolloutReason[];
  /** Every breached threshold (warning or critical), each alerted. */
  breaches: RolloutReason[];
  checks: RolloutCheck[];
  /** What the guard did: rolled back, advanced, or only recorded (or skipped an unchanged hold). */
  applied: "rollback" | "advance" | "recorded" | "unchanged";
  fromRollout: number;
  toRollout: number;
  stageEnteredAt: string;
  windowStart: string;
  metrics: { old: UsageSummary["old"]; new: UsageSummary["new"] };
  /** Set when an advance to 100 % was asked of the cutover gate. */
  cutover?: { ok: boolean; required: boolean; reasons: RolloutReason[] };
}

export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};
/** A jsonb column value: parsed when a driver hands back text. */
export const jsonVal = (v: unknown): unknown => {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};
/** A numeric[] column value: an array (PGlite) or its text form "{1,5,25}" (postgres.js). */
export const numArray = (v: unknown): number[] => {
  if (Array.isArray(v)) return v.map(Number).filter(Number.isFinite);
  if (typeof v === "string" && /^\{.*\}$/.test(v)) {
    return v.slice(1, -1).split(",").filter(Boolean).map(Number).filter(Number.isFinite);
  }
  return [];
};
export const ms = (v: unknown): number => v instanceof Date ? v.getTime() : new Date(String(v)).getTime();
export const iso = (t: number): string => new Date(t).toISOString();

/** The rollout in force at `nowMs`: the schedule's current step when a schedule is set. */
export function currentRollout(rollout: number, schedule: unknown, nowMs: number): number {
  const steps = Array.isArray(schedule) ? schedule : [];
  let cur = rollout;
  let best = -Infinity;
  for (const s of steps) {
    const at = Date.parse(String((s as { at?: unknown })?.at));
    const r = Number((s as { rollout?: unknown })?.rollout);
    if (Number.isFinite(at) && at <= nowMs && at > best && Number.isFinite(r)) {
      best = at;
      cur = r;
    }
  }
  return cur;
}

/** Whether a flag row is ramping (the guard looks at it): enabled, no adminOverride, stages set,
 *  and 0 < rollout < 100 or a schedule. */
export function isRamping(f: FlagRow, nowMs: number): boolean {
  if (!f.enabled || f.admin_override !== null) return false;
  const stages = numArray(f.stages);
  if (stages.length === 0) return false;
  const schedule = jsonVal(f.schedule);
  if (Array.isArray(schedule) && schedule.length > 0) return true;
  const r = currentRollout(Number(f.rollout_percentage), schedule, nowMs);
  return r > 0 && r < 100;
}

/** A flag's `metadata.guard` as the core reads it (leniently), and why it is refused strictly
 *  (null when valid): the guard then alerts and uses the defaults for what it cannot use. */
export function guardSettingsOf(metadata: unknown): { settings: unknown; invalid: string | null } {
  const settings = obj(jsonVal(metadata)).guard ?? null;
  try {
    core.validateRolloutThresholds(settings);
    return { settings, invalid: null };
  } catch (e) {
    return { settings, invalid: String((e as Error)?.message ?? e) };
  }
}

/** When the flag's current stage was entered: the latest audit row that changed its rollout. */
export async function stageEntered(q: Queryable, f: FlagRow): Promise<number> {
  const [r] = await q.query<{ at: unknown }>(
    `select at from trimtab.flag_audit_log
      where flag_key = $1
        and (before is null or (before -> 'rollout_percentage') is distinct from (after -> 'rollout_percentage'))
        and after is not null
      order by id desc limit 1`,
    [f.key],
  );
  const t = r ? ms(r.at) : ms(f.created_at);
  return Number.isFinite(t) ? t : 0;
}

export const toMetrics = (p: UsageSummary["old"]): PipelineMetrics => ({
  calls: p.calls,
  errors: p.errors,
  p95Ms: p.p95Ms,
  fallbacks: p.fallbacks,
  piiLeaks: p.piiLeaks,
  costUsd: p.costUsd,
  conversations: p.conversations,
});

export async function insertDecision(q: Queryable, d: GuardDecision, nowMs: number): Promise<void> {
  await q.query(
    `insert into trimtab.rollout_decisions (at, flag_key, action, reasons, from_rollout, to_rollout, metrics)
     values ($1::timestamptz, $2, $3, $4::text::jsonb, $5::text::numeric, $6::text::numeric, $7::text::jsonb)`,
    [
      iso(nowMs),
      d.flag,
      d.action,
      JSON.stringify(d.reasons),
      String(d.fromRollout),
      String(d.toRollout),
      JSON.stringify({
        ...d.metrics,
        breaches: d.breaches,
        windowStart: d.windowStart,
        stageEnteredAt: d.stageEnteredAt,
        ...(d.cutover ? { cutover: d.cutover } : {}),
      }),
    ],
  );
}

/** Records a hold (or an advance not applied) when it differs from the flag's last decision. */
export async function recordIfChanged(tx: Tx, d: GuardDecision, nowMs: number): Promise<"recorded" | "unchanged"> {
  const [last] = await tx.query<{ action: string; reasons: unknown; from_rollout: unknown }>(
    "select action, reasons, from_rollout from trimtab.rollout_decisions where flag_key = $1 order by id desc limit 1",
    [d.flag],
  );
  const codes = (rs: unknown) =>
    (Array.isArray(rs) ? rs : []).map((r) => String((r as { code?: unknown })?.code)).sort().join(",");
  if (
    last && last.action === d.action && Number(last.from_rollout) === d.fromRollout &&
    codes(jsonVal(last.reasons)) === codes(d.reasons)
  ) return "unchanged";
  await insertDecision(tx, d, nowMs);
  return "recorded";
}

/**
 * Rolls `flag` back: adminOverride off (conditional: a flag already overridden is left alone),
 * audited as actor "guard", action "guard.rollback", reason the breached thresholds' messages (the
 * flag's cached answers go with it: the migration's trigger), plus the decision row, a critical
 * `rollback` alert and, at the third rollback in 24 h, `frequent_rollbacks`. Returns the alerts
 * stored, or null when the flag was already overridden.
 */
export async function applyRollback(tx: Tx, d: GuardDecision, nowMs: number): Promise<AlertMessage[] | null> {
  const breached = d.reasons.map((r) => r.message).join("; ").slice(0, 1000) || "rollout health check failed";
  await tx.audit({ actor: GUARD_ACTOR, action: "guard.rollback", reason: breached });
  const rows = await tx.query(
    "update trimtab.feature_flags set admin_override = 'off' where key = $1 and admin_override is null returning key",
    [d.flag],
  );
  if (rows.length === 0) return null;
  d.applied = "rollback";
  d.toRollout = 0;
  await insertDecision(tx, d, nowMs);
  const rollback = await raiseAlert(tx, {
    kind: "rollback",
    flag: d.flag,
    severity: "critical",
    message: `guard rolled back flag "${d.flag}" at ${d.fromRollout} %: ${breached}`,
    details: { reasons: d.reasons.map((r) => r.code), from: d.fromRollout },
    dedupMs: 0,
  }, nowMs);
  const frequent = await frequentRollbacks(tx, d.flag, nowMs);
  return [rollback, frequent].filter((a): a is AlertMessage => a !== null);
}

/** Raises `frequent_rollbacks` (once a day per flag) at 3 or more rollbacks of `flag` in 24 h. */
export async function frequentRollbacks(q: Queryable, flag: string, nowMs: number): Promise<AlertMessage | null> {
  const [n] = await q.query<{ n: unknown }>(
    `select count(*) as n from trimtab.flag_audit_log
      where flag_key = $1 and action in ('guard.rollback', 'flag.rollback') and at >= $2::timestamptz
        and (after ->> 'admin_override') = 'off' and (before ->> 'admin_override') is distinct from 'off'`,
    [flag, iso(nowMs - DAY_MS)],
  );
  const count = Number(n?.n ?? 0);
  if (count < 3) return null;
  return await raiseAlert(q, {
    kind: "frequent_rollbacks",
    flag,
    severity: "critical",
    message: `flag "${flag}" rolled back ${count} times in 24 h`,
    details: { rollbacks: count },
    dedupMs: DAY_MS,
  }, nowMs);
}
