//! The readiness check before cleanup (GET /rollout-status/readiness?flag=KEY): may a migration
//! drop its old path now? Ready only when every one of these holds; otherwise every reason that
//! fails is listed, each with a stable code:
//! - NOT_ENABLED, ROLLED_BACK (adminOverride "off"), NOT_FULL_ROLLOUT: the flag serves the new
//!   path to everyone (enabled and at 100 %, or adminOverride "on");
//! - SHADOW_VARIANT: no unit is left in shadow (a "shadow" variant with weight);
//! - OVERRIDES_OFF: no unexpired override keeps a unit on the old path;
//! - DWELL: at full exposure for `readyDwellMs` (7 days), counted from the latest change of the
//!   flag's rollout, switch, override or variants (or the schedule step that reached 100 %);
//! - GATE_SUCCESS_RATE, GATE_ERROR_RATE, GATE_PERFORMANCE_GAIN: the migration gates
//!   (migration_metrics.ts) over the time at 100 % (the old p50 of the same length of time before
//!   it, when the old path served nothing since);
//! - NO_TRAFFIC: at least `readyMinCalls` (100) calls on the new path in that window;
//! - FALLBACKS: no fallback to the old path in the window; OLD_PATH_SERVED: nor any other call
//!   the old path served (a forced switch back, a missing key);
//! - DATA_NOT_RUN, DATA_NOT_VALIDATED: each data migration of `dataMigrations` has a completed,
//!   validated latest run;
//! - INVALID_SETTINGS: `metadata.migration` is usable as written.
import type { Queryable } from "../platform/db.ts";
import { HttpError } from "../platform/http.ts";
import { currentRollout, iso, jsonVal, ms } from "./guard_rows.ts";
import { adoption, migrationMetrics, migrationSettingsOf } from "./migration_metrics.ts";
import { SHADOW_VARIANT } from "./migration.ts";
import { usageSummary } from "./usage.ts";

export interface ReadinessReason {
  code: string;
  message: string;
  value?: number | string | null;
  threshold?: number;
  migration?: string;
}

/** The schedule step in force at `nowMs` (its time and rollout), or null. */
function stepInForce(schedule: unknown, nowMs: number): { at: number; rollout: number } | null {
  let best: { at: number; rollout: number } | null = null;
  for (const s of Array.isArray(schedule) ? schedule : []) {
    const at = Date.parse(String((s as { at?: unknown })?.at));
    const rollout = Number((s as { rollout?: unknown })?.rollout);
    if (Number.isFinite(at) && at <= nowMs && (!best || at > best.at) && Number.isFinite(rollout)) {
      best = { at, rollout };
    }
  }
  return best;
}

/** Whether `flag` may drop its old path at `nowMs`, with every reason when not. */
export async function readiness(q: Queryable, flag: string, nowMs: number = Date.now()) {
  const [f] = await q.query<Record<string, unknown>>(
    `select key, enabled, admin_override, rollout_percentage, schedule, variants, metadata, created_at
       from trimtab.feature_flags where key = $1`,
    [flag],
  );
  if (!f) throw new HttpError(404, "UNKNOWN_FLAG", `unknown flag "${flag}"`);
  const reasons: ReadinessReason[] = [];
  const { settings, invalid } = migrationSettingsOf(f.metadata);
  if (invalid) reasons.push({ code: "INVALID_SETTINGS", message: `metadata.migration: ${invalid}` });

  const schedule = jsonVal(f.schedule);
  const rollout = currentRollout(Number(f.rollout_percentage), schedule, nowMs);
  const override = f.admin_override === null || f.admin_override === undefined ? null : String(f.admin_override);
  const full = f.enabled === true && override !== "off" && (override === "on" || rollout >= 100);
  if (f.enabled !== true) reasons.push({ code: "NOT_ENABLED", message: "the flag is disabled" });
  else if (override === "off") reasons.push({ code: "ROLLED_BACK", message: 'adminOverride is "off"' });
  else if (!full) {
    reasons.push({ code: "NOT_FULL_ROLLOUT", message: `the flag is at ${rollout} %`, value: rollout, threshold: 100 });
  }
  const variants = jsonVal(f.variants);
  if (
    Array.isArray(variants) &&
    variants.some((v) =>
      (v as { key?: unknown })?.key === SHADOW_VARIANT && Number((v as { weight?: unknown })?.weight) > 0
    )
  ) {
    reasons.push({ code: "SHADOW_VARIANT", message: 'units in the "shadow" variant are still served the old path' });
  }
  const [ov] = await q.query<{ n: unknown }>(
    `select count(*) as n from trimtab.user_feature_overrides
      where flag_key = $1 and not enabled and (expires_at is null or expires_at > $2::timestamptz)`,
    [flag, iso(nowMs)],
  );
  if (Number(ov?.n ?? 0) > 0) {
    reasons.push({
      code: "OVERRIDES_OFF",
      message: `${Number(ov.n)} override(s) keep units on the old path`,
      value: Number(ov.n),
    });
  }

  // full exposure since: the latest change of what decides exposure (or the schedule step)
  const [changed] = await q.query<{ at: unknown }>(
    `select at from trimtab.flag_audit_log
      where flag_key = $1 and unit is null and after is not null
        and (before is null
             or (before -> 'rollout_percentage') is distinct from (after -> 'rollout_percentage')
             or (before -> 'enabled') is distinct from (after -> 'enabled')
             or (before -> 'admin_override') is distinct from (after -> 'admin_override')
             or (before -> 'variants') is distinct from (after -> 'variants'))
      order by id desc limit 1`,
    [flag],
  );
  let entered = changed ? ms(changed.at) : ms(f.created_at);
  const step = stepInForce(schedule, nowMs);
  if (step && override === null) entered = Math.max(entered, step.at);
  if (!Number.isFinite(entered)) entered = nowMs;
  const atFullMs = full ? Math.max(0, nowMs - entered) : 0;
  if (atFullMs < settings.readyDwellMs) {
    reasons.push({
      code: "DWELL",
      message: full
        ? `at full exposure for ${Math.round(atFullMs / 60_000)} min of the ${
          Math.round(settings.readyDwellMs / 60_000)
        } min needed`
        : "not at full exposure",
      value: atFullMs,
      threshold: settings.readyDwellMs,
    });
  }

  const since = full ? entered : nowMs - settings.readyDwellMs;
  const summary = await usageSummary(q, flag, since);
  let compared = summary;
  if (summary.old.calls === 0) {
    // the old path served nothing since: compare with its p50 before, over as long a time
    const before = await usageSummary(q, flag, since - Math.max(nowMs - since, 3_600_000));
    compared = { ...summary, old: before.old };
  }
  const metrics = migrationMetrics(compared, await adoption(q, flag, since), settings);
  for (const g of metrics.gates.checks) {
    if (!g.ok) reasons.push({ code: `GATE_${g.code}`, message: g.message, value: g.value, threshold: g.threshold });
  }
  if (summary.new.calls < settings.readyMinCalls) {
    reasons.push({
      code: "NO_TRAFFIC",
      message: `${summary.new.calls} call(s) on the new path since ${iso(since)} (at least ${settings.readyMinCalls})`,
      value: summary.new.calls,
      threshold: settings.readyMinCalls,
    });
  }
  if (summary.old.fallbacks > 0) {
    reasons.push({
      code: "FALLBACKS",
      message: `${summary.old.fallbacks} fallback(s) to the old path since ${iso(since)}`,
      value: summary.old.fallbacks,
      threshold: 0,
    });
  }
  const oldServed = summary.old.calls - summary.old.fallbacks;
  if (oldServed > 0) {
    reasons.push({
      code: "OLD_PATH_SERVED",
      message: `the old path served ${oldServed} call(s) since ${iso(since)}`,
      value: oldServed,
      threshold: 0,
    });
  }

  const data = [];
  for (const name of settings.dataMigrations) {
    const [run] = await q.query<Record<string, unknown>>(
      `select id, status, validated, finished_at from trimtab.migration_runs
        where migration = $1 order by id desc limit 1`,
      [name],
    );
    const item = run
      ? { migration: name, runId: Number(run.id), status: String(run.status), validated: run.validated === true }
      : { migration: name, runId: null, status: null, validated: false };
    data.push(item);
    if (!run) reasons.push({ code: "DATA_NOT_RUN", message: `data migration ${name} never ran`, migration: name });
    else if (item.status !== "completed" || !item.validated) {
      reasons.push({
        code: "DATA_NOT_VALIDATED",
        message: `data migration ${name}: latest run ${item.runId} is ${item.status}${
          item.validated ? "" : ", not validated"
        }`,
        migration: name,
        value: item.status,
      });
    }
  }

  return {
    flag,
    ready: reasons.length === 0,
    reasons,
    at: iso(nowMs),
    rollout,
    adminOverride: override,
    fullSince: full ? iso(entered) : null,
    dwellMs: settings.readyDwellMs,
    window: { since: iso(since), until: iso(nowMs) },
    metrics,
    fallbacks: summary.old.fallbacks,
    dataMigrations: data,
    settings,
  };
}
