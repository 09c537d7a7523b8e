// The guard: evaluates every ramping flag against the usage of its old and new pipelines and rolls
// it back, holds or advances it, raises the alerts, and delivers the alert outbox. Run by a timer
// in the local stack (scripts/serve.ts, TRIMTAB_GUARD_INTERVAL_MS), by pg_cron + pg_net on
// Supabase (migration 20261127000003_schedule.sql) and on demand through POST /flags-admin/guard.
//
// Ramping flag: enabled, adminOverride null, stages set, and 0 < rollout < 100 or a schedule.
// Window: the last TRIMTAB_GUARD_WINDOW_MS (default 15 min), but never before the stage was
// entered (the latest flag_audit_log row that changed the flag's rollout). Thresholds: the core's
// defaults (the plans' values) overridden per flag by metadata.guard (every setting of the core's
// RolloutThresholds; written through the admin API, which refuses an invalid one; one that reached
// the row another way raises `invalid_guard_settings` and the core uses the defaults for what it
// cannot read). Decision: core `decideRollout`, with every breach at its level.
// - Each breach raises an alert of its code (`error_rate`, `p95_latency`, `cost_spike`, ...) at
//   its level, once per flag and code within TRIMTAB_ALERT_DEDUP_MS (a critical one still comes
//   after a warning).
// - rollback (a critical breach): guard_rows.ts `applyRollback`: adminOverride 'off' in one
//   transaction audited as actor "guard", action "guard.rollback", reason the breached thresholds'
//   messages; a rollout_decisions row; a critical `rollback` alert; `frequent_rollbacks` at 3 in
//   24 h. The migration's trigger deletes the flag's response-cache rows and moves its epoch.
// - advance: only when metadata.autoRamp === true (and no schedule drives the flag): rollout moves
//   to the next stage, audited as "guard.advance". A move to 100 % must pass the cutover gate
//   (cutover.ts); refused, it is recorded with the gate's reasons and a `cutover_blocked` alert.
// - hold (and an advance not applied): a rollout_decisions row only when the action, the reason
//   codes or the rollout differ from the flag's last decision (not one row a minute).
// Also: `unauthorised_change` (a rollout or adminOverride change in flag_audit_log since the last
// run not made by the admin API, the guard or the seed: its action is not one of theirs, or its
// transaction did not describe itself, e.g. direct SQL), `frequent_rollbacks` for rollbacks made
// through the admin API too.
// Runs serialise on the guard_state row (for update); flag rows are not locked while the run
// reads usage: the rollback and the advance are conditional updates, so a concurrent admin change
// wins. After the transaction: the isolate's flag cache is invalidated when a flag changed, and
// the alert outbox is delivered (platform/alerts.ts `deliverDue`).
import { invalidate } from "../flags/config.ts";
import { deliverDue, type DeliveryReport, raiseAlert } from "../platform/alerts.ts";
import type { AlertMessage } from "../platform/notify.ts";
import type { Db, Tx } from "../platform/db.ts";
import { env, envPositive } from "../platform/env.ts";
import { log } from "../platform/log.ts";
import * as core from "../platform/trimtab.ts";
import type { RolloutReason } from "../platform/trimtab.ts";
import { cutoverGate } from "./cutover.ts";
import {
  applyRollback,
  currentRollout,
  type FlagRow,
  frequentRollbacks,
  GUARD_ACTOR,
  type GuardDecision,
  guardSettingsOf,
  insertDecision,
  iso,
  isRamping,
  jsonVal,
  numArray,
  obj,
  recordIfChanged,
  stageEntered,
  toMetrics,
} from "./guard_rows.ts";
import { usageSummary } from "./usage.ts";

export { currentRollout, GUARD_ACTOR, type GuardDecision, isRamping, jsonVal, numArray };

/** Audit actions of the admin API, the guard and the seed: rollout changes under them are authorised. */
export const AUTHORISED_ACTIONS = new Set([
  "flag.update",
  "flag.ramp",
  "flag.ramp.forced",
  "flag.cutover.forced",
  "flag.rollback",
  "flag.create",
  "flag.delete",
  "seed",
]);

export interface GuardResult {
  at: string;
  windowMs: number;
  decisions: GuardDecision[];
  /** The alerts this run stored (deduplicated ones are not). */
  alerts: AlertMessage[];
  /** The outbox delivery after the run (null when it failed: logged). */
  deliveries: DeliveryReport | null;
}

export function guardWindowMs(): number {
  return envPositive("TRIMTAB_GUARD_WINDOW_MS");
}

type Change = Record<string, unknown>;

/** Whether an audit row changed a rollout or an override without the admin API, guard or seed. */
function unauthorised(c: Change): boolean {
  const rolloutChanged = JSON.stringify(c.before_rollout ?? null) !== JSON.stringify(c.after_rollout ?? null) &&
    !(c.before_rollout == null && Number(c.after_rollout ?? 0) === 0) &&
    Number(c.before_rollout) !== Number(c.after_rollout);
  const overrideChanged = (c.before_override ?? null) !== (c.after_override ?? null) &&
    !(c.before_rollout == null && c.after_override == null);
  if (!rolloutChanged && !overrideChanged) return false;
  const action = String(c.action);
  return !(c.described === true && (AUTHORISED_ACTIONS.has(action) || action.startsWith("guard.")));
}

/** Evaluates every ramping flag now (or at `nowMs`) and acts on the decisions. */
export async function runGuard(db: Db, nowMs: number = Date.now()): Promise<GuardResult> {
  if (typeof core.decideRollout !== "function") {
    throw Object.assign(new Error("the Wasm core has no decideRollout"), { code: "GUARD_UNAVAILABLE" });
  }
  const windowMs = guardWindowMs();
  const decisions: GuardDecision[] = [];
  const alerts: AlertMessage[] = [];
  let changed = false;

  await db.tx(async (tx) => {
    const raise = async (a: Parameters<typeof raiseAlert>[1]) => {
      const stored = await raiseAlert(tx, a, nowMs);
      if (stored) alerts.push(stored);
    };
    // serialise runs; read and advance the audit watermark
    const [state] = await tx.query<{ last_audit_id: unknown }>(
      "select last_audit_id from trimtab.guard_state where id for update",
    );
    const watermark = Number(state?.last_audit_id ?? 0);
    const changes = await tx.query<Change>(
      `select id, at, actor, action, flag_key, described,
              before -> 'rollout_percentage' as before_rollout, after -> 'rollout_percentage' as after_rollout,
              before ->> 'admin_override' as before_override, after ->> 'admin_override' as after_override
         from trimtab.flag_audit_log
        where id > $1 and flag_key is not null and unit is null
        order by id`,
      [watermark],
    );
    for (const c of changes.filter(unauthorised)) {
      await raise({
        kind: "unauthorised_change",
        flag: String(c.flag_key),
        severity: "critical",
        message: `flag "${c.flag_key}" rollout changed outside the admin API (action ${c.action}, actor ${c.actor})`,
        details: {
          auditId: String(c.id),
          action: String(c.action),
          actor: String(c.actor),
          from: c.before_rollout ?? null,
          to: c.after_rollout ?? null,
          overrideFrom: c.before_override ?? null,
          overrideTo: c.after_override ?? null,
        },
        dedupMs: 0,
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
      const { settings, invalid } = guardSettingsOf(f.metadata);
      if (invalid) {
        await raise({
          kind: "invalid_guard_settings",
          flag: f.key,
          severity: "warning",
          message: `flag "${f.key}": metadata.guard is invalid (${invalid}); the defaults stand in`,
        });
      }
      const d = core.decideRollout(toMetrics(summary.old), toMetrics(summary.new), settings as never, entered, nowMs);
      const decision: GuardDecision = {
        flag: f.key,
        action: d.action,
        reasons: d.reasons,
        breaches: d.breaches,
        checks: d.checks,
        applied: "recorded",
        fromRollout: from,
        toRollout: from,
        stageEnteredAt: iso(entered),
        windowStart: iso(windowStart),
        metrics: { old: summary.old, new: summary.new },
      };
      for (const b of d.breaches) {
        await raise({
          kind: b.code.toLowerCase(),
          flag: f.key,
          severity: b.level ?? "warning",
          message: `flag "${f.key}": ${b.message}`,
          details: { code: b.code, level: b.level, value: b.value, threshold: b.threshold, from },
        });
      }

      if (d.action === "rollback") {
        const raised = await applyRollback(tx, decision, nowMs);
        if (!raised) continue;
        alerts.push(...raised);
        changed = true;
      } else if (d.action === "advance" && meta.autoRamp === true && !hasSchedule) {
        const moved = await advance(tx, decision, stages, f.metadata, nowMs, raise);
        changed ||= moved;
      } else {
        decision.applied = await recordIfChanged(tx, decision, nowMs);
      }
      decisions.push(decision);
    }

    // frequent rollbacks made through the admin API too
    for (const c of changes) {
      if (String(c.action) !== "flag.rollback" || c.after_override !== "off") continue;
      const frequent = await frequentRollbacks(tx, String(c.flag_key), nowMs);
      if (frequent) alerts.push(frequent);
    }

    // the rollbacks' own audit rows are above the watermark now: skip them next time
    const [top] = await tx.query<{ id: unknown }>("select coalesce(max(id), 0) as id from trimtab.flag_audit_log");
    await tx.query(
      "update trimtab.guard_state set last_audit_id = $1, last_run_at = $2::timestamptz where id",
      [Math.max(watermark, Number(top?.id ?? 0)), iso(nowMs)],
    );
  });
  if (changed) invalidate();
  let deliveries: DeliveryReport | null = null;
  try {
    deliveries = await deliverDue(db, nowMs);
  } catch (e) {
    log.error("alert delivery failed", { err: e });
  }
  return { at: iso(nowMs), windowMs, decisions, alerts, deliveries };
}

/** Moves the flag to its next stage (through the cutover gate for 100 %); returns whether it moved. */
async function advance(
  tx: Tx,
  d: GuardDecision,
  stages: number[],
  metadata: unknown,
  nowMs: number,
  raise: (a: Parameters<typeof raiseAlert>[1]) => Promise<void>,
): Promise<boolean> {
  const from = d.fromRollout;
  let next: number | undefined = stages.filter((s) => s > from).sort((a, b) => a - b)[0];
  if (next !== undefined) {
    try {
      core.checkRamp(from, next, stages);
    } catch (e) {
      log.warn("guard cannot advance a flag", { flag: d.flag, from, to: next, code: (e as { code?: unknown })?.code });
      next = undefined;
    }
  }
  if (next !== undefined && next >= 100) {
    const { result } = await cutoverGate(tx, d.flag, metadata, nowMs);
    if (result.required && !result.ok) {
      d.cutover = { ok: false, required: true, reasons: result.reasons };
      d.reasons = [...d.reasons, ...result.reasons.map((r) => ({ ...r, code: `CUTOVER_${r.code}` }))];
      await raise({
        kind: "cutover_blocked",
        flag: d.flag,
        severity: "warning",
        message: `flag "${d.flag}" stays at ${from} %: the cutover check fails: ${
          result.reasons.map((r) => r.message).join("; ")
        }`,
        details: { reasons: result.reasons.map((r: RolloutReason) => r.code), from },
      });
      next = undefined;
    } else if (result.required) d.cutover = { ok: true, required: true, reasons: [] };
  }
  if (next === undefined) {
    d.applied = await recordIfChanged(tx, d, nowMs);
    return false;
  }
  await tx.audit({
    actor: GUARD_ACTOR,
    action: "guard.advance",
    reason: `healthy at ${from} %: ${d.reasons.map((r) => r.message).join("; ")}`.slice(0, 1000),
  });
  // conditional: a concurrent admin change since the read wins (no flag row locks held)
  const moved = await tx.query(
    `update trimtab.feature_flags set rollout_percentage = $2::text::numeric
      where key = $1 and admin_override is null and rollout_percentage = $3::text::numeric returning key`,
    [d.flag, String(next), String(from)],
  );
  if (moved.length === 0) return false;
  d.applied = "advance";
  d.toRollout = next;
  await insertDecision(tx, d, nowMs);
  log.info("guard advanced a flag", { flag: d.flag, from, to: next });
  return true;
}

/**
 * Rolls `flag` back now, outside the guard's tick (a PII leak in a reply): the same audited
 * rollback, decision row and alerts as the guard's, then the outbox is delivered in the background
 * (EdgeRuntime.waitUntil where the runtime has it). Returns whether
 * the flag was rolled back (false when it already had an adminOverride or does not exist).
 */
export async function rollbackNow(
  db: Db,
  flag: string,
  reasons: RolloutReason[],
  nowMs: number = Date.now(),
): Promise<boolean> {
  const done = await db.tx(async (tx) => {
    const [f] = await tx.query<FlagRow>(
      "select key, rollout_percentage, schedule from trimtab.feature_flags where key = $1 and admin_override is null",
      [flag],
    );
    if (!f) return false;
    const from = currentRollout(Number(f.rollout_percentage), jsonVal(f.schedule), nowMs);
    return (await applyRollback(tx, {
      flag,
      action: "rollback",
      reasons,
      breaches: reasons,
      checks: [],
      applied: "recorded",
      fromRollout: from,
      toRollout: from,
      stageEnteredAt: iso(nowMs),
      windowStart: iso(nowMs),
      metrics: { old: null as never, new: null as never },
    }, nowMs)) !== null;
  });
  if (done) {
    invalidate();
    // The alerts go out in the background: the reply that triggered the rollback is not held up.
    const work = deliverDue(db, nowMs).then(() => {}, (e) => log.error("alert delivery failed", { err: e }));
    const rt = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } }).EdgeRuntime;
    if (typeof rt?.waitUntil === "function") rt.waitUntil(work);
  }
  return done;
}

/** The guard interval of the local stack's timer (ms; 0 or "off" disables it). */
export function guardIntervalMs(): number {
  const raw = env("TRIMTAB_GUARD_INTERVAL_MS");
  if (raw === "off" || raw === "0") return 0;
  return envPositive("TRIMTAB_GUARD_INTERVAL_MS");
}
