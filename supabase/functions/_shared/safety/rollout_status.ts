//! GET /rollout-status (its index.ts routes here): per flag, the stage, the percentage, old vs new
//! pipeline health over the guard's window (never before the stage was entered; shadow rows
//! excluded), the guard's view now (every threshold in force with its measured value and state,
//! the breaches, what the guard would do), the cutover check on the shadow comparisons, and the
//! guard's last decision; plus the operators' views: requests, errors, p95 and cost per
//! conversation per hour and pipeline over `?hours=` (default 24, at most 168), and the top error
//! codes, of the one flag asked (`?flag=KEY`) or of every flag; and per flag its migration metrics
//! (migration_metrics.ts: success rate, adoption, performance gain, gates). Also
//! GET /rollout-status/readiness?flag=KEY (readiness.ts) and GET /rollout-status/deprecations (who
//! still calls a deprecated endpoint). The caller is an admin or the service role.
import { getDb } from "../platform/store.ts";
import { HttpError, json } from "../platform/http.ts";
import * as core from "../platform/trimtab.ts";
import { cutoverGate } from "./cutover.ts";
import { guardWindowMs } from "./guard.ts";
import { readiness } from "./readiness.ts";
import { currentRollout, guardSettingsOf, isRamping, jsonVal, numArray, toMetrics } from "./guard_rows.ts";
import { adoption, migrationMetrics, migrationSettingsOf } from "./migration_metrics.ts";
import { type PipelineSummary, topErrors, usageHourly, usageSummary } from "./usage.ts";

const FLAG_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

const iso = (v: unknown) => v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString();

const view = (p: PipelineSummary) => ({
  calls: p.calls,
  errors: p.errors,
  successRate: p.successRate,
  errorRate: p.errorRate,
  p50Ms: p.p50Ms,
  p95Ms: p.p95Ms,
  fallbacks: p.fallbacks,
  piiLeaks: p.piiLeaks,
  cached: p.cached,
  costUsd: p.costUsd,
  conversations: p.conversations,
  costPerConversation: p.costPerConversation,
});

/** The answer for `url` (`?flag=KEY` narrows it to one flag; `?hours=` sizes the views). */
export async function rolloutStatus(url: URL): Promise<Response> {
  const only = url.searchParams.get("flag");
  if (only !== null && !FLAG_KEY.test(only)) throw new HttpError(400, "INVALID_KEY", "flag must be a flag key");
  const hoursText = url.searchParams.get("hours") ?? "24";
  const hours = Number(hoursText);
  if (!/^\d{1,3}$/.test(hoursText) || hours < 1 || hours > 168) {
    throw new HttpError(400, "INVALID_INPUT", "hours must be an integer from 1 to 168");
  }
  const db = await getDb();
  const now = Date.now();
  const windowMs = guardWindowMs();
  const flags = await db.query<Record<string, unknown>>(
    `select f.key, f.enabled, f.admin_override, f.rollout_percentage, f.stages, f.schedule, f.metadata, f.created_at,
            (select a.at from trimtab.flag_audit_log a
              where a.flag_key = f.key and a.after is not null
                and (a.before is null or (a.before -> 'rollout_percentage') is distinct from (a.after -> 'rollout_percentage'))
              order by a.id desc limit 1) as stage_entered,
            (select to_jsonb(d) from (select action, reasons, at, from_rollout, to_rollout from trimtab.rollout_decisions r
              where r.flag_key = f.key order by r.id desc limit 1) d) as last_decision
       from trimtab.feature_flags f
      where $1::text is null or f.key = $1
      order by f.key`,
    [only],
  );
  if (only !== null && flags.length === 0) throw new HttpError(404, "UNKNOWN_FLAG", `unknown flag "${only}"`);
  const out = [];
  for (const f of flags) {
    const key = String(f.key);
    const stages = numArray(f.stages);
    const rollout = currentRollout(Number(f.rollout_percentage), jsonVal(f.schedule), now);
    let index = -1;
    stages.forEach((s, i) => {
      if (s <= rollout) index = i;
    });
    const entered = f.stage_entered ? new Date(iso(f.stage_entered)).getTime() : new Date(iso(f.created_at)).getTime();
    const since = Math.max(now - windowMs, Number.isFinite(entered) ? entered : 0);
    const s = await usageSummary(db, key, since);
    const d = jsonVal(f.last_decision) as Record<string, unknown> | null;
    const meta = jsonVal(f.metadata) as Record<string, unknown> | null;
    const { settings, invalid } = guardSettingsOf(f.metadata);
    const thresholds = core.validateRolloutThresholds(invalid ? null : settings);
    const verdict = core.decideRollout(toMetrics(s.old), toMetrics(s.new), settings as never, entered, now);
    const cutover = await cutoverGate(db, key, f.metadata, now);
    const migration = migrationSettingsOf(f.metadata);
    out.push({
      key,
      enabled: f.enabled === true,
      adminOverride: f.admin_override ?? null,
      ramping: isRamping(f as never, now),
      stage: stages.length ? { index, total: stages.length } : null,
      rollout,
      stages: stages.length ? stages : null,
      autoRamp: meta?.autoRamp === true,
      since: new Date(since).toISOString(),
      old: view(s.old),
      new: view(s.new),
      guard: {
        thresholds,
        invalidSettings: invalid,
        action: verdict.action,
        reasons: verdict.reasons,
        breaches: verdict.breaches,
        checks: verdict.checks,
      },
      cutover: { ...cutover.result, summary: cutover.summary },
      migration: {
        ...migrationMetrics(s, await adoption(db, key, since), migration.settings),
        invalidSettings: migration.invalid,
      },
      lastDecision: d
        ? {
          action: d.action,
          reasons: jsonVal(d.reasons),
          at: iso(d.at),
          fromRollout: d.from_rollout === null ? null : Number(d.from_rollout),
          toRollout: d.to_rollout === null ? null : Number(d.to_rollout),
        }
        : null,
    });
  }
  const from = now - hours * 3_600_000;
  const views = {
    flag: only,
    hours,
    hourly: await usageHourly(db, only, from, now),
    topErrors: await topErrors(db, only, from),
  };
  return json(200, { at: new Date(now).toISOString(), windowMs, flags: out, views });
}

/** GET /rollout-status/readiness?flag=KEY: whether the migration may drop its old path. */
export async function readinessStatus(url: URL): Promise<Response> {
  const flag = url.searchParams.get("flag");
  if (flag === null || !FLAG_KEY.test(flag)) throw new HttpError(400, "INVALID_KEY", "flag must be a flag key");
  return json(200, await readiness(await getDb(), flag));
}

/** GET /rollout-status/deprecations[?route=]: who still calls deprecated endpoints, latest first. */
export async function deprecationsStatus(url: URL): Promise<Response> {
  const route = url.searchParams.get("route");
  if (route !== null && !/^\/[\x21-\x7e]{0,199}$/.test(route)) {
    throw new HttpError(400, "INVALID_INPUT", "route must be a path");
  }
  const rows = await (await getDb()).query<Record<string, unknown>>(
    `select route, caller_kind, caller, user_agent, calls, gone, first_at, last_at from trimtab.deprecated_calls
      where $1::text is null or route = $1 order by last_at desc limit 500`,
    [route],
  );
  return json(200, {
    callers: rows.map((r) => ({
      route: String(r.route),
      callerKind: String(r.caller_kind),
      caller: String(r.caller),
      userAgent: String(r.user_agent),
      calls: Number(r.calls),
      gone: Number(r.gone),
      firstAt: iso(r.first_at),
      lastAt: iso(r.last_at),
    })),
  });
}
