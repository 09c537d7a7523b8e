// The readiness check before cleanup (GET /rollout-status/readiness, safety/readiness.ts) and the
// migration gates (safety/migration_metrics.ts), on PGlite and a real Debian Postgres, with usage
// rows written for chosen latencies and outcomes (no timing in the test): a flag at 100 % with
// healthy traffic but a fresh stage, a fallback, an override keeping a unit back and its data
// migration not run is "not ready" with every one of those reasons; two hours later (the clock is
// an argument) with the data migration run and validated, and no fallback in its window, it is
// ready. Gates: green on a faster, healthy new path; red, each with its reason, otherwise.
import "../../supabase/functions/_shared/platform/routed.ts";
import rolloutStatus from "../../supabase/functions/rollout-status/index.ts";
import { USAGE_LOGS_MIGRATION } from "../../supabase/functions/_shared/examples/usage_logs.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { continueRun, startRun } from "../../supabase/functions/_shared/safety/data_migration.ts";
import { readiness } from "../../supabase/functions/_shared/safety/readiness.ts";
import { recordUsage, type UsageRow } from "../../supabase/functions/_shared/safety/usage.ts";
import { call, eq, type Json, onBothBackends, req, type Tokens } from "./support.ts";

const HOUR = 3_600_000;

async function flag(db: Db, key: string, metadata: Json) {
  await db.tx(async (tx) => {
    await tx.audit({ actor: "test", action: "flag.create", reason: "readiness test" });
    await tx.query(
      `insert into trimtab.feature_flags (key, enabled, rollout_percentage, stages, metadata)
       values ($1, true, 100, '{1,10,50,100}', $2::text::jsonb)`,
      [key, metadata],
    );
  });
}

/** `n` usage rows of `key` at `at` (epoch ms), each for its own unit bucket. */
async function usage(db: Db, key: string, pipeline: "old" | "new", n: number, at: number, r: Partial<UsageRow> = {}) {
  for (let i = 0; i < n; i++) {
    await recordUsage(db, {
      at: new Date(at),
      feature: "readiness",
      flagKey: key,
      pipeline,
      provider: pipeline,
      latencyMs: 10,
      status: "ok",
      correlationId: `c-${key}-${pipeline}-${i}`,
      unitBucket: (pipeline === "new" ? 500_000 : 0) + i,
      ...r,
    });
  }
}

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const status = (path: string) => call(rolloutStatus, req(`/rollout-status${path}`, { token: tk.admin }));
  let now = 0; // when the readiness flag moved to 100 %

  await t.step("gates: green on a healthy, faster new path; each failing gate named", async () => {
    await flag(db, "mig_gates_green", {});
    await flag(db, "mig_gates_red", { migration: { maxErrorRate: 0.1, bogus: 1 } });
    const at = Date.now() + 1000; // inside the window that starts when the flags were created
    await usage(db, "mig_gates_green", "old", 20, at, { latencyMs: 40 });
    await usage(db, "mig_gates_green", "new", 30, at, { latencyMs: 20 });
    const green = (await status("?flag=mig_gates_green")).body.flags[0].migration;
    eq([green.successRate, green.errorRate, green.performanceGain, green.performanceGainPercent], [1, 0, 2, 100]);
    eq(green.adoption, { units: 50, newUnits: 30, share: 0.6 }, "units counted by bucket");
    eq([green.gates.ok, green.invalidSettings], [true, null]);

    await usage(db, "mig_gates_red", "old", 20, at, { latencyMs: 10 });
    await usage(db, "mig_gates_red", "new", 16, at, { latencyMs: 30 });
    await usage(db, "mig_gates_red", "new", 4, at, { latencyMs: 30, status: "error", errorCode: "X" });
    const red = (await status("?flag=mig_gates_red")).body.flags[0].migration;
    eq(red.gates.checks.map((g: Json) => [g.code, g.ok, g.value, g.threshold]), [
      ["SUCCESS_RATE", false, 0.8, 0.95],
      ["ERROR_RATE", false, 0.2, 0.1],
      ["PERFORMANCE_GAIN", false, -66.67, 0],
    ], "each gate with its value and threshold (maxErrorRate from metadata.migration)");
    eq(red.invalidSettings, "unknown setting bogus", "an unusable setting is reported");
  });

  const KEY = "mig_ready";
  await t.step("not ready: every reason listed, over HTTP", async () => {
    await flag(db, KEY, {
      migration: { readyDwellMs: HOUR, readyMinCalls: 20, dataMigrations: [USAGE_LOGS_MIGRATION.name] },
    });
    now = Date.now();
    await db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ($1, 'holdout', false, 'test')",
      [KEY],
    );
    await usage(db, KEY, "old", 20, now - 10 * 60_000, { latencyMs: 40 }); // before the move to 100 %
    await usage(db, KEY, "new", 30, now + 1000, { latencyMs: 20 });
    await usage(db, KEY, "old", 1, now + 1000, { latencyMs: 40, fallback: true, errorCode: "NEW_PATH_ERROR" });
    const r = await status(`/readiness?flag=${KEY}`);
    eq(r.status, 200, JSON.stringify(r.body));
    eq(r.body.ready, false);
    eq(r.body.reasons.map((x: Json) => x.code), ["OVERRIDES_OFF", "DWELL", "FALLBACKS", "DATA_NOT_RUN"]);
    eq(r.body.reasons.find((x: Json) => x.code === "DATA_NOT_RUN").migration, USAGE_LOGS_MIGRATION.name);
    eq((await status("/readiness?flag=nope_flag")).body.error.code, "UNKNOWN_FLAG");
    eq((await status("/readiness")).body.error.code, "INVALID_KEY");
    const user = await call(rolloutStatus, req(`/rollout-status/readiness?flag=${KEY}`, { token: await tk.user("u") }));
    eq(user.status, 403, "admins only");
  });

  await t.step("ready: dwell served, data migration validated, no fallback in the window", async () => {
    await db.query("delete from trimtab.user_feature_overrides where flag_key = $1", [KEY]);
    await db.query("delete from trimtab.ai_usage_logs where flag_key = $1 and fallback", [KEY]);
    await db.exec(`insert into trimtab_examples.usage_logs (feature, provider, model) values ('chat', 'openai', 'm')`);
    const run = await startRun(db, USAGE_LOGS_MIGRATION, { batchSize: 100 });
    eq((await continueRun(db, USAGE_LOGS_MIGRATION, run.id)).run.validated, true, "data migration validated");
    const later = await readiness(db, KEY, now + 2 * HOUR);
    eq([later.ready, later.reasons], [true, []], JSON.stringify(later.reasons));
    eq([later.metrics.performanceGain, later.metrics.successRate], [2, 1], "gain against the old p50 before 100 %");
    eq(later.dataMigrations.map((d) => [d.migration, d.status, d.validated]), [[
      USAGE_LOGS_MIGRATION.name,
      "completed",
      true,
    ]]);
    const rolledBack = await db.tx(async (tx) => {
      await tx.audit({ actor: "test", action: "flag.rollback", reason: "readiness test" });
      await tx.query("update trimtab.feature_flags set admin_override = 'off' where key = $1", [KEY]);
      return await readiness(tx, KEY, now + 2 * HOUR);
    });
    eq(rolledBack.reasons.map((x) => x.code).slice(0, 2), ["ROLLED_BACK", "DWELL"], "a rollback undoes readiness");
  });
}

onBothBackends("readiness check and migration gates", checks);
