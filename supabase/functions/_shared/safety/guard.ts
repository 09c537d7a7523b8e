// The guard: evaluates every ramping flag against the usage of its old and new
// pipelines and rolls back, holds or advances it. Run by a timer in the local stack
// (scripts/serve.ts, TRIMTAB_GUARD_INTERVAL_MS), by pg_cron + pg_net on Supabase
// (migration 20261127000003_schedule.sql) and on demand through POST /flags-admin/guard.
//
// Ramping flag: enabled, adminOverride null, stages set, and 0 < rollout < 100 or a schedule.
// Window: the last TRIMTAB_GUARD_WINDOW_MS (default 15 min), but never before the stage was
// entered (the latest flag_audit_log row that changed the flag's rollout). Thresholds: the core's
// defaults, overridden per flag by feature_flags.metadata.guard ({ maxErrorRate, errorMargin,
// maxLatencyRatio, minSuccessRate, minSample, dwellMs, minRollbackSample, alertErrorRate }).
// Decision: core `decideRollout`.
// - rollback: admin_override = 'off' in one transaction audited as actor "guard", action
//   "guard.rollback", reason the breached thresholds' messages; a rollout_decisions row and a
//   critical "rollback" alert in the same transaction; an error log line.
// - advance: only when metadata.autoRamp === true (and no schedule drives the flag): rollout moves
//   to the next stage, audited as "guard.advance". Otherwise recorded like a hold.
// - hold (and an advance not applied): a rollout_decisions row only when the action, the reason
//   codes or the rollout differ from the flag's last decision (not one row a minute).
// Alerts (rows in `alerts` and warn/error log lines): error_rate (new pipeline error rate above
// alertErrorRate, default 5 %, at most one per flag per window), unauthorised_change (a rollout or
// adminOverride change in flag_audit_log since the last run not made by the admin API, the guard
// or the seed: its action is not one of theirs, or its transaction did not describe itself, e.g.
// direct SQL), frequent_rollbacks (≥ 3 rollbacks of one flag in 24 h; one per flag per 24 h).
// Runs serialise on the guard_state row (for update); flag rows are not locked while the run
// reads usage: the rollback and the advance are conditional updates, so a concurrent admin change
// wins. Finally the isolate's flag cache is invalidated so a rollback serves at once here (other
// isolates within the config TTL).
import { invalidate } from "../flags/config.ts";
import type { Db, Queryable, Tx } from "../platform/db.ts";
import { env, envPositive } from "../platform/env.ts";
import { log } from "../platform/log.ts";
import * as core from "../platform/trimtab.ts";
import type { PipelineMetrics, RolloutReason, RolloutThresholds } from "../platform/trimtab.ts";
import { type UsageSummary, usageSummary } from "./usage.ts";

export const GUARD_ACTOR = "guard";
/** Audit actions of the admin API, the guard and the seed: rollout changes under them are authorised. */
export const AUTHORISED_ACTIONS = new Set([
  "flag.update",
  "flag.ramp",
  "flag.ramp.forced",
  "flag.rollback",
  "flag.create",
  "flag.delete",
  "seed",
]);
const DAY_MS = 24 * 3600 * 1000;
const THRESHOLD_KEYS = [
  "maxErrorRate",
  "errorMargin",
  "maxLatencyRatio",
  "minSuccessRate",
  "minSample",
  "dwellMs",
  "minRollbackSample",
] as const;

export interface GuardDecision {
  flag: string;
  action: "advance" | "hold" | "rollback";
  reasons: RolloutReason[];
  /** What the guard did: rolled back, advanced, or only recorded (or skipped an unchanged hold). */
  applied: "rollback" | "advance" | "recorded" | "unchanged";
  fromRollout: number;
  toRollout: number;
  stageEnteredAt: string;
  windowStart: string;
  metrics: { old: UsageSummary["old"]; new: UsageSummary["new"] };
}

export interface GuardAlert {
  kind: string;
  flag: string | null;
  severity: "info" | "warning" | "critical";
  message: string;
  details?: Record<string, unknown>;
}

export interface GuardResult {
  at: string;
  windowMs: number;
  decisions: GuardDecision[];
  alerts: GuardAlert[];
}

interface FlagRow {
  key: string;
  enabled: boolean;
  admin_override: string | null;
  rollout_percentage: unknown;
  stages: unknown;
  schedule: unknown;
  metadata: unknown;
  created_at: unknown;
}

export function guardWindowMs(): number {
  return envPositive("TRIMTAB_GUARD_WINDOW_MS");
}

const obj = (v: unknown): Record<string, unknown> =>
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
const ms = (v: unknown): number => v instanceof Date ? v.getTime() : new Date(String(v)).getTime();

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

/** Whether a flag row is ramping (the guard looks at it). */
export function isRamping(f: FlagRow, nowMs: number): boolean {
  if (!f.enabled || f.admin_override !== null) return false;
  const stages = numArray(f.stages);
  if (stages.length === 0) return false;
  const schedule = jsonVal(f.schedule);
  if (Array.isArray(schedule) && schedule.length > 0) return true;
  const r = currentRollout(Number(f.rollout_percentage), schedule, nowMs);
  return r > 0 && r < 100;
}

/** The core's defaults overridden by metadata.guard (only known, finite, non-negative numbers). */
export function thresholdsOf(metadata: unknown): RolloutThresholds & { alertErrorRate: number } {
  const g = obj(obj(jsonVal(metadata)).guard);
  const out: Record<string, number> = {};
  for (const k of THRESHOLD_KEYS) {
    const v = g[k];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  const a = g.alertErrorRate;
  return {
    ...out,
    alertErrorRate: typeof a === "number" && Number.isFinite(a) && a >= 0 ? a : 0.05,
  } as RolloutThresholds & { alertErrorRate: number };
}

/** When the flag's current stage was entered: the latest audit row that changed its rollout. */
async function stageEntered(q: Queryable, f: FlagRow): Promise<number> {
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

const toMetrics = (p: UsageSummary["old"]): PipelineMetrics => ({
  calls: p.calls,
  errors: p.errors,
  p95Ms: p.p95Ms,
  fallbacks: p.fallbacks,
  piiLeaks: p.piiLeaks,
});

async function insertAlert(q: Queryable, a: GuardAlert, nowMs: number): Promise<void> {
  await q.query(
    `insert into trimtab.alerts (at, kind, flag_key, severity, message, details)
     values ($1::timestamptz, $2, $3, $4, $5, $6::text::jsonb)`,
    [
      new Date(nowMs).toISOString(),
      a.kind,
      a.flag,
      a.severity,
      a.message.slice(0, 2000),
      a.details ? JSON.stringify(a.details) : null,
    ],
  );
  const fields = { alert: a.kind, flag: a.flag, severity: a.severity, ...(a.details ?? {}) };
  if (a.severity === "critical") log.error(a.message, fields);
  else log.warn(a.message, fields);
}

async function insertDecision(q: Queryable, d: GuardDecision, nowMs: number): Promise<void> {
  await q.query(
    `insert into trimtab.rollout_decisions (at, flag_key, action, reasons, from_rollout, to_rollout, metrics)
     values ($1::timestamptz, $2, $3, $4::text::jsonb, $5::text::numeric, $6::text::numeric, $7::text::jsonb)`,
    [
      new Date(nowMs).toISOString(),
      d.flag,
      d.action,
      JSON.stringify(d.reasons),
      String(d.fromRollout),
      String(d.toRollout),
      JSON.stringify({ ...d.metrics, windowStart: d.windowStart, stageEnteredAt: d.stageEnteredAt }),
    ],
  );
}

async function recentAlert(q: Queryable, kind: string, flag: string, sinceMs: number): Promise<boolean> {
  const r = await q.query(
    "select 1 from trimtab.alerts where kind = $1 and flag_key = $2 and at >= $3::timestamptz limit 1",
    [kind, flag, new Date(sinceMs).toISOString()],
  );
  return r.length > 0;
}

/** Evaluates every ramping flag now (or at `nowMs`) and acts on the decisions. */
export async function runGuard(db: Db, nowMs: number = Date.now()): Promise<GuardResult> {
  if (typeof core.decideRollout !== "function") {
    throw Object.assign(new Error("the Wasm core has no decideRollout"), { code: "GUARD_UNAVAILABLE" });
  }
  const windowMs = guardWindowMs();
  const decisions: GuardDecision[] = [];
  const alerts: GuardAlert[] = [];
  let changed = false;

  const result = await db.tx(async (tx) => {
    // serialise runs; read and advance the audit watermark
    const [state] = await tx.query<{ last_audit_id: unknown }>(
      "select last_audit_id from trimtab.guard_state where id for update",
    );
    const watermark = Number(state?.last_audit_id ?? 0);

    // unauthorised rollout changes since the last run
    const changes = await tx.query<Record<string, unknown>>(
      `select id, at, actor, action, flag_key, described,
              before -> 'rollout_percentage' as before_rollout, after -> 'rollout_percentage' as after_rollout,
              before ->> 'admin_override' as before_override, after ->> 'admin_override' as after_override
         from trimtab.flag_audit_log
        where id > $1 and flag_key is not null and unit is null
        order by id`,
      [watermark],
    );
    let maxId = watermark;
    for (const c of changes) {
      maxId = Math.max(maxId, Number(c.id));
      const action = String(c.action);
      const rolloutChanged = JSON.stringify(c.before_rollout ?? null) !== JSON.stringify(c.after_rollout ?? null) &&
        !(c.before_rollout == null && Number(c.after_rollout ?? 0) === 0) &&
        Number(c.before_rollout) !== Number(c.after_rollout);
      const overrideChanged = (c.before_override ?? null) !== (c.after_override ?? null) &&
        !(c.before_rollout == null && c.after_override == null);
      if (!rolloutChanged && !overrideChanged) continue;
      const authorised = c.described === true && (AUTHORISED_ACTIONS.has(action) || action.startsWith("guard."));
      if (authorised) continue;
      alerts.push({
        kind: "unauthorised_change",
        flag: String(c.flag_key),
        severity: "critical",
        message: `flag "${c.flag_key}" rollout changed outside the admin API (action ${action}, actor ${c.actor})`,
        details: {
          auditId: String(c.id),
          action,
          actor: String(c.actor),
          from: c.before_rollout ?? null,
          to: c.after_rollout ?? null,
          overrideFrom: c.before_override ?? null,
          overrideTo: c.after_override ?? null,
        },
      });
    }

    const flags = await tx.query<FlagRow>(
      `select key, enabled, admin_override, rollout_percentage, stages, schedule, metadata, created_at
         from trimtab.feature_flags order by key`,
    );
    for (const f of flags) {
      if (!isRamping(f, nowMs)) continue;
      const meta = obj(jsonVal(f.metadata));
      const schedule = jsonVal(f.schedule);
      const hasSchedule = Array.isArray(schedule) && schedule.length > 0;
      const stages = numArray(f.stages);
      const from = currentRollout(Number(f.rollout_percentage), schedule, nowMs);
      const entered = await stageEntered(tx, f);
      const windowStart = Math.max(nowMs - windowMs, entered);
      const summary = await usageSummary(tx, f.key, windowStart);
      const th = thresholdsOf(f.metadata);
      const { alertErrorRate, ...thresholds } = th;
      const d = core.decideRollout(toMetrics(summary.old), toMetrics(summary.new), thresholds, entered, nowMs);
      const decision: GuardDecision = {
        flag: f.key,
        action: d.action,
        reasons: d.reasons,
        applied: "recorded",
        fromRollout: from,
        toRollout: from,
        stageEnteredAt: new Date(entered).toISOString(),
        windowStart: new Date(windowStart).toISOString(),
        metrics: { old: summary.old, new: summary.new },
      };

      // error-rate alert (independent of the decision)
      if (summary.new.calls > 0 && summary.new.errorRate > alertErrorRate) {
        if (!(await recentAlert(tx, "error_rate", f.key, nowMs - windowMs))) {
          alerts.push({
            kind: "error_rate",
            flag: f.key,
            severity: "warning",
            message: `flag "${f.key}": new pipeline error rate ${(summary.new.errorRate * 100).toFixed(1)} % ` +
              `above ${(alertErrorRate * 100).toFixed(1)} %`,
            details: { errorRate: summary.new.errorRate, calls: summary.new.calls, errors: summary.new.errors },
          });
        }
      }

      if (d.action === "rollback") {
        const breached = d.reasons.map((r) => r.message).join("; ").slice(0, 1000) || "rollout health check failed";
        await tx.audit({ actor: GUARD_ACTOR, action: "guard.rollback", reason: breached });
        const rows = await tx.query(
          "update trimtab.feature_flags set admin_override = 'off' where key = $1 and admin_override is null returning key",
          [f.key],
        );
        if (rows.length === 0) continue;
        changed = true;
        decision.applied = "rollback";
        decision.toRollout = 0;
        await insertDecision(tx, decision, nowMs);
        alerts.push({
          kind: "rollback",
          flag: f.key,
          severity: "critical",
          message: `guard rolled back flag "${f.key}" at ${from} %: ${breached}`,
          details: { reasons: d.reasons.map((r) => r.code), from },
        });
        // frequent rollbacks: this one included
        const [n] = await tx.query<{ n: unknown }>(
          `select count(*) as n from trimtab.flag_audit_log
            where flag_key = $1 and action in ('guard.rollback', 'flag.rollback') and at >= $2::timestamptz
              and (after ->> 'admin_override') = 'off' and (before ->> 'admin_override') is distinct from 'off'`,
          [f.key, new Date(nowMs - DAY_MS).toISOString()],
        );
        const count = Number(n?.n ?? 0);
        if (count >= 3 && !(await recentAlert(tx, "frequent_rollbacks", f.key, nowMs - DAY_MS))) {
          alerts.push({
            kind: "frequent_rollbacks",
            flag: f.key,
            severity: "critical",
            message: `flag "${f.key}" rolled back ${count} times in 24 h`,
            details: { rollbacks: count },
          });
        }
      } else if (d.action === "advance" && meta.autoRamp === true && !hasSchedule) {
        let next: number | undefined = stages.filter((s) => s > from).sort((a, b) => a - b)[0];
        if (next !== undefined) {
          try {
            core.checkRamp(from, next, stages);
          } catch (e) {
            log.warn("guard cannot advance a flag", {
              flag: f.key,
              from,
              to: next,
              code: (e as { code?: unknown })?.code,
            });
            next = undefined;
          }
        }
        if (next !== undefined) {
          await tx.audit({
            actor: GUARD_ACTOR,
            action: "guard.advance",
            reason: `healthy at ${from} %: ${d.reasons.map((r) => r.message).join("; ")}`.slice(0, 1000),
          });
          // conditional: a concurrent admin change since the read wins (no flag row locks held)
          const moved = await tx.query(
            `update trimtab.feature_flags set rollout_percentage = $2::text::numeric
              where key = $1 and admin_override is null and rollout_percentage = $3::text::numeric returning key`,
            [f.key, String(next), String(from)],
          );
          if (moved.length === 0) continue;
          changed = true;
          decision.applied = "advance";
          decision.toRollout = next;
          await insertDecision(tx, decision, nowMs);
          log.info("guard advanced a flag", { flag: f.key, from, to: next });
        } else {
          decision.applied = await recordIfChanged(tx, decision, nowMs);
        }
      } else {
        decision.applied = await recordIfChanged(tx, decision, nowMs);
      }
      decisions.push(decision);
    }

    // frequent rollbacks made through the admin API too
    for (const c of changes) {
      if (String(c.action) !== "flag.rollback" || c.after_override !== "off") continue;
      const key = String(c.flag_key);
      if (alerts.some((a) => a.kind === "frequent_rollbacks" && a.flag === key)) continue;
      const [n] = await tx.query<{ n: unknown }>(
        `select count(*) as n from trimtab.flag_audit_log
          where flag_key = $1 and action in ('guard.rollback', 'flag.rollback') and at >= $2::timestamptz
            and (after ->> 'admin_override') = 'off' and (before ->> 'admin_override') is distinct from 'off'`,
        [key, new Date(nowMs - DAY_MS).toISOString()],
      );
      const count = Number(n?.n ?? 0);
      if (count >= 3 && !(await recentAlert(tx, "frequent_rollbacks", key, nowMs - DAY_MS))) {
        alerts.push({
          kind: "frequent_rollbacks",
          flag: key,
          severity: "critical",
          message: `flag "${key}" rolled back ${count} times in 24 h`,
          details: { rollbacks: count },
        });
      }
    }

    // the rollbacks' own audit rows are above the watermark now: skip them next time
    const [top] = await tx.query<{ id: unknown }>("select coalesce(max(id), 0) as id from trimtab.flag_audit_log");
    maxId = Math.max(maxId, Number(top?.id ?? 0));
    for (const a of alerts) await insertAlert(tx, a, nowMs);
    await tx.query(
      "update trimtab.guard_state set last_audit_id = $1, last_run_at = $2::timestamptz where id",
      [maxId, new Date(nowMs).toISOString()],
    );
    return { at: new Date(nowMs).toISOString(), windowMs, decisions, alerts };
  });
  if (changed) invalidate();
  return result;
}

/** Records a hold (or an advance not applied) when it differs from the flag's last decision. */
async function recordIfChanged(tx: Tx, d: GuardDecision, nowMs: number): Promise<"recorded" | "unchanged"> {
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

/** The guard interval of the local stack's timer (ms; 0 or "off" disables it). */
export function guardIntervalMs(): number {
  const raw = env("TRIMTAB_GUARD_INTERVAL_MS");
  if (raw === "off" || raw === "0") return 0;
  return envPositive("TRIMTAB_GUARD_INTERVAL_MS");
}
