//! The metrics the migration plans ask for, per migration (per flag), from its usage rows:
//! success rate and error rate of the new path, adoption (the share of units on the new path,
//! counted by the units' buckets: no identifier is stored), the performance gain (old p50 / new
//! p50, each at least 1 ms; as a percentage, (gain - 1) x 100) and the gates: success above
//! `minSuccessRate` (95 %), errors below `maxErrorRate` (5 %), gain above
//! `minPerformanceGainPercent` (0 %). GET /rollout-status shows them; the readiness check
//! (readiness.ts) needs them green.
//!
//! Settings are a flag's `metadata.migration` (read leniently: a setting that cannot be used
//! takes its default, and `invalid` says why):
//!   minSuccessRate, maxErrorRate (0..1), minPerformanceGainPercent (>= -100),
//!   readyDwellMs (7 days), readyMinCalls (100): the readiness check's dwell time at 100 % and
//!   least volume, and dataMigrations: the data migrations (names) that must be validated first.
import type { Queryable } from "../platform/db.ts";
import { jsonVal, obj } from "./guard_rows.ts";
import type { UsageSummary } from "./usage.ts";

export interface MigrationSettings {
  minSuccessRate: number;
  maxErrorRate: number;
  minPerformanceGainPercent: number;
  readyDwellMs: number;
  readyMinCalls: number;
  dataMigrations: string[];
}

export const MIGRATION_DEFAULTS: Readonly<MigrationSettings> = {
  minSuccessRate: 0.95,
  maxErrorRate: 0.05,
  minPerformanceGainPercent: 0,
  readyDwellMs: 7 * 24 * 3_600_000,
  readyMinCalls: 100,
  dataMigrations: [],
};

const MIGRATION_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** A flag's migration settings (see the module docs) and why some were refused (null: none). */
export function migrationSettingsOf(metadata: unknown): { settings: MigrationSettings; invalid: string | null } {
  const raw = obj(obj(jsonVal(metadata)).migration);
  const settings: MigrationSettings = { ...MIGRATION_DEFAULTS, dataMigrations: [] };
  const problems: string[] = [];
  const num = (k: keyof MigrationSettings, ok: (v: number) => boolean, what: string) => {
    const v = raw[k];
    if (v === undefined || v === null) return;
    if (typeof v === "number" && Number.isFinite(v) && ok(v)) (settings[k] as number) = v;
    else problems.push(`${k} ${what}`);
  };
  for (const k of Object.keys(raw)) {
    if (!(k in MIGRATION_DEFAULTS)) problems.push(`unknown setting ${k.slice(0, 40)}`);
  }
  num("minSuccessRate", (v) => v >= 0 && v <= 1, "must be a rate from 0 to 1");
  num("maxErrorRate", (v) => v >= 0 && v <= 1, "must be a rate from 0 to 1");
  num("minPerformanceGainPercent", (v) => v >= -100, "must be a percentage of at least -100");
  num("readyDwellMs", (v) => Number.isSafeInteger(v) && v >= 0, "must be a whole number of ms");
  num("readyMinCalls", (v) => Number.isSafeInteger(v) && v >= 0, "must be a whole number");
  const dm = raw.dataMigrations;
  if (dm !== undefined && dm !== null) {
    if (Array.isArray(dm) && dm.length <= 20 && dm.every((n) => typeof n === "string" && MIGRATION_NAME.test(n))) {
      settings.dataMigrations = [...new Set(dm as string[])];
    } else problems.push("dataMigrations must be a list of at most 20 data migration names");
  }
  return { settings, invalid: problems.length ? problems.join("; ") : null };
}

/** Units seen on the flag's served calls since `sinceMs`, and those the new path served. */
export async function adoption(
  q: Queryable,
  flag: string,
  sinceMs: number,
): Promise<{ units: number; newUnits: number; share: number | null }> {
  const [r] = await q.query<{ units: unknown; new_units: unknown }>(
    `select count(distinct unit_bucket) as units,
            count(distinct unit_bucket) filter (where pipeline = 'new') as new_units
       from trimtab.ai_usage_logs
      where flag_key = $1 and at >= $2::timestamptz and not shadow and unit_bucket is not null`,
    [flag, new Date(sinceMs).toISOString()],
  );
  const units = Number(r?.units ?? 0), newUnits = Number(r?.new_units ?? 0);
  return { units, newUnits, share: units ? newUnits / units : null };
}

/** One gate: passed or not, the measured value and the threshold it is held to. */
export interface GateCheck {
  code: "SUCCESS_RATE" | "ERROR_RATE" | "PERFORMANCE_GAIN";
  ok: boolean;
  value: number | null;
  threshold: number;
  message: string;
}

export interface MigrationMetrics {
  /** The new path's success and error rates (null without calls). */
  successRate: number | null;
  errorRate: number | null;
  adoption: { units: number; newUnits: number; share: number | null };
  /** Old p50 / new p50 (each at least 1 ms); null unless both paths served. */
  performanceGain: number | null;
  performanceGainPercent: number | null;
  gates: { ok: boolean; checks: GateCheck[] };
}

const pct = (v: number) => `${Math.round(v * 10_000) / 100} %`;

/** The metrics and gates of a migration from its usage summary and adoption. */
export function migrationMetrics(
  s: UsageSummary,
  units: MigrationMetrics["adoption"],
  settings: MigrationSettings,
): MigrationMetrics {
  const calls = s.new.calls;
  const successRate = calls ? s.new.successRate : null;
  const errorRate = calls ? s.new.errorRate : null;
  const gain = calls && s.old.calls ? Math.max(s.old.p50Ms, 1) / Math.max(s.new.p50Ms, 1) : null;
  const gainPct = gain === null ? null : Math.round((gain - 1) * 10_000) / 100;
  const checks: GateCheck[] = [
    {
      code: "SUCCESS_RATE",
      ok: successRate !== null && successRate > settings.minSuccessRate,
      value: successRate,
      threshold: settings.minSuccessRate,
      message: successRate === null
        ? "the new path served no calls"
        : `new path success rate ${pct(successRate)} (must be above ${pct(settings.minSuccessRate)})`,
    },
    {
      code: "ERROR_RATE",
      ok: errorRate !== null && errorRate < settings.maxErrorRate,
      value: errorRate,
      threshold: settings.maxErrorRate,
      message: errorRate === null
        ? "the new path served no calls"
        : `new path error rate ${pct(errorRate)} (must be below ${pct(settings.maxErrorRate)})`,
    },
    {
      code: "PERFORMANCE_GAIN",
      ok: gainPct !== null && gainPct > settings.minPerformanceGainPercent,
      value: gainPct,
      threshold: settings.minPerformanceGainPercent,
      message: gainPct === null
        ? "no p50 to compare: both paths must serve calls"
        : `performance gain ${gainPct} % (old p50 ${s.old.p50Ms} ms / new p50 ${s.new.p50Ms} ms; must be above ${settings.minPerformanceGainPercent} %)`,
    },
  ];
  return {
    successRate,
    errorRate,
    adoption: units,
    performanceGain: gain === null ? null : Math.round(gain * 10_000) / 10_000,
    performanceGainPercent: gainPct,
    gates: { ok: checks.every((c) => c.ok), checks },
  };
}
