// The rollout guard on PGlite and a real Debian Postgres: crafted
// ai_usage_logs windows roll a flag back (error rate, latency, PII leak), hold it (sample, dwell;
// an unchanged hold is recorded once) or advance it (only with metadata.autoRamp); a rollback sets
// adminOverride off and writes the guard.rollback audit row naming the breached threshold, a
// rollout_decisions row and alerts; direct-SQL rollout changes and frequent rollbacks raise
// alerts; the usage summary (percentile_cont, shadow rows excluded); GET /rollout-status and
// POST /flags-admin/guard shapes and auth (401/403).
import "../../supabase/functions/_shared/platform/routed.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import rolloutStatus from "../../supabase/functions/rollout-status/index.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { runGuard } from "../../supabase/functions/_shared/safety/guard.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { recordUsage, usageSummary } from "../../supabase/functions/_shared/safety/usage.ts";
import { assert, call, eq, eventually, logCapture, onBothBackends, req, startStack, stopStack } from "./support.ts";

import type { Json } from "./support.ts";

const STAGES = "{1,5,25,50,100}";

/** A ramping flag at `rollout`, created as the admin API would (described transaction). */
async function flag(db: Db, key: string, rollout = 25, metadata: Json = {}): Promise<void> {
  await db.tx(async (tx) => {
    await tx.audit({ actor: "test", action: "flag.create", reason: "guard test" });
    await tx.query(
      `insert into trimtab.feature_flags (key, enabled, rollout_percentage, stages, metadata)
       values ($1, true, $2::text::numeric, $3::text::numeric[], $4::text::jsonb)`,
      [key, String(rollout), STAGES, JSON.stringify(metadata)],
    );
  });
}

/** n usage rows of one pipeline. */
async function usage(
  db: Db,
  key: string,
  pipeline: "old" | "new",
  n: number,
  o: { status?: string; latencyMs?: number; pii?: boolean; shadow?: boolean; fallback?: boolean } = {},
): Promise<void> {
  await db.query(
    `insert into trimtab.ai_usage_logs (feature, flag_key, pipeline, provider, model, status, latency_ms, pii_leak, shadow,
                                fallback, cost_usd, correlation_id)
     select 'test', $1, $2, 'openai', 'gpt-test', $3, $4, $5, $6, $7, 0.001, 'c-' || g
       from generate_series(1, $8::int) g`,
    [key, pipeline, o.status ?? "ok", o.latencyMs ?? 100, o.pii ?? false, o.shadow ?? false, o.fallback ?? false, n],
  );
}

const flagRow = async (db: Db, key: string) =>
  (await db.query<Json>("select admin_override, rollout_percentage from trimtab.feature_flags where key = $1", [key]))[
    0
  ];
const audits = (db: Db, key: string, action: string) =>
  db.query<Json>("select * from trimtab.flag_audit_log where flag_key = $1 and action = $2 order by id", [key, action]);
const decisionsOf = (db: Db, key: string) =>
  db.query<Json>("select * from trimtab.rollout_decisions where flag_key = $1 order by id", [key]);
const alertsOf = (db: Db, key: string | null, kind: string) =>
  db.query<Json>("select * from trimtab.alerts where flag_key is not distinct from $1 and kind = $2 order by id", [
    key,
    kind,
  ]);

const { lines, sink } = logCapture();

onBothBackends("guard", async (t, db, tk) => {
  const prevSink = setLogSink(sink);
  try {
    await t.step("recordUsage writes a row and never throws; usageSummary aggregates", async () => {
      await flag(db, "g_summary", 5);
      await recordUsage(db, {
        feature: "agent_chat",
        flagKey: "g_summary",
        pipeline: "new",
        provider: "openai",
        model: "gpt-4o-mini",
        promptVariant: "optimized",
        tokensIn: 120,
        tokensOut: 30,
        latencyMs: 250,
        costUsd: 0.0004,
        status: "ok",
        correlationId: "conv-1",
      });
      await usage(db, "g_summary", "new", 9, { latencyMs: 100 });
      await usage(db, "g_summary", "new", 5, { shadow: true, status: "error" }); // excluded
      await usage(db, "g_summary", "old", 4, { fallback: true });
      // a bad row (negative pipeline) is refused by the table: logged, not thrown
      await recordUsage(db, { feature: "x", pipeline: "sideways" as never, provider: "p", status: "ok" });
      assert(lines.some((l) => l.includes("usage row not written")), "warning logged");
      const s = await usageSummary(db, "g_summary", Date.now() - 60_000);
      eq(s.new.calls, 10, "new calls (shadow excluded)");
      eq(s.new.errors, 0, "no errors");
      eq(s.new.successRate, 1, "success rate");
      eq(s.new.p50Ms, 100, "p50");
      assert(s.new.p95Ms > 100 && s.new.p95Ms <= 250, `p95 interpolated: ${s.new.p95Ms}`);
      eq(s.old.fallbacks, 4, "fallbacks");
      assert(s.new.costPerConversation > 0, "cost per conversation");
    });

    // all scenarios in one run: each flag is judged on its own window
    await flag(db, "g_err");
    await usage(db, "g_err", "old", 50);
    await usage(db, "g_err", "new", 30);
    await usage(db, "g_err", "new", 20, { status: "error" });
    await flag(db, "g_lat");
    await usage(db, "g_lat", "old", 50, { latencyMs: 100 });
    await usage(db, "g_lat", "new", 50, { latencyMs: 500 });
    await flag(db, "g_pii");
    await usage(db, "g_pii", "new", 1, { pii: true });
    await flag(db, "g_sample", 25, { autoRamp: true, guard: { dwellMs: 0 } });
    await usage(db, "g_sample", "new", 10);
    await flag(db, "g_dwell", 25, { autoRamp: true });
    await usage(db, "g_dwell", "old", 150);
    await usage(db, "g_dwell", "new", 150);
    await flag(db, "g_auto", 25, { autoRamp: true, guard: { dwellMs: 0, minSample: 10 } });
    await usage(db, "g_auto", "old", 20);
    await usage(db, "g_auto", "new", 20);
    await flag(db, "g_manual", 25, { guard: { dwellMs: 0, minSample: 10 } });
    await usage(db, "g_manual", "old", 20);
    await usage(db, "g_manual", "new", 20);
    lines.length = 0;
    const run = await runGuard(db, Date.now() + 2000);
    const d = (k: string) => run.decisions.find((x) => x.flag === k)!;

    await t.step("error rate: rollback, override off, audit names the threshold, decision and alerts", async () => {
      eq(d("g_err").action, "rollback");
      eq(d("g_err").applied, "rollback");
      eq((await flagRow(db, "g_err")).admin_override, "off", "adminOverride");
      const [a] = await audits(db, "g_err", "guard.rollback");
      assert(a, "audit row");
      eq(a.actor, "guard");
      assert(/error rate 40\.0%.*above the 10\.0% limit/.test(a.reason), `reason names the threshold: ${a.reason}`);
      const ds = await decisionsOf(db, "g_err");
      eq(ds.length, 1, "one decision");
      eq(ds[0].action, "rollback");
      eq(Number(ds[0].from_rollout), 25);
      assert(JSON.stringify(ds[0].reasons).includes("ERROR_RATE"), "reasons stored");
      eq((await alertsOf(db, "g_err", "rollback")).length, 1, "rollback alert");
      eq((await alertsOf(db, "g_err", "error_rate")).length, 1, "error rate alert (the ERROR_RATE breach)");
      assert(lines.some((l) => l.includes('"level":"error"') && l.includes("g_err")), "error log line");
    });
    await t.step("latency and PII leaks roll back", async () => {
      eq(d("g_lat").action, "rollback");
      eq(d("g_lat").reasons.map((r) => r.code), ["LATENCY"]);
      eq((await flagRow(db, "g_lat")).admin_override, "off");
      assert((await audits(db, "g_lat", "guard.rollback"))[0].reason.includes("p95 500 ms"), "latency reason");
      eq(d("g_pii").action, "rollback", "a PII leak at any volume");
      eq(d("g_pii").reasons.map((r) => r.code), ["PII_LEAK"]);
      eq((await flagRow(db, "g_pii")).admin_override, "off");
      eq((await alertsOf(db, "g_lat", "error_rate")).length, 0, "no error-rate alert without errors");
    });
    await t.step("hold: too small a sample, or the dwell time not yet served", async () => {
      eq(d("g_sample").action, "hold");
      assert(d("g_sample").reasons.some((r) => r.code === "SAMPLE"), "sample reason");
      eq(d("g_dwell").action, "hold");
      assert(d("g_dwell").reasons.some((r) => r.code === "DWELL"), "dwell reason");
      for (const k of ["g_sample", "g_dwell"]) {
        const f = await flagRow(db, k);
        eq([f.admin_override, Number(f.rollout_percentage)], [null, 25], `${k} untouched`);
        eq((await decisionsOf(db, k)).length, 1, `${k} decision recorded`);
      }
    });
    await t.step("advance: next stage only with autoRamp", async () => {
      eq(d("g_auto").action, "advance");
      eq(d("g_auto").applied, "advance");
      eq(d("g_auto").toRollout, 50);
      eq(Number((await flagRow(db, "g_auto")).rollout_percentage), 50, "moved to the next stage");
      const [a] = await audits(db, "g_auto", "guard.advance");
      eq(a.actor, "guard");
      eq(d("g_manual").action, "advance");
      eq(d("g_manual").applied, "recorded", "no autoRamp: recorded only");
      eq(Number((await flagRow(db, "g_manual")).rollout_percentage), 25, "not moved");
      eq((await audits(db, "g_manual", "guard.advance")).length, 0);
    });
    await t.step("an unchanged hold is not recorded again; rolled-back flags are left alone", async () => {
      const again = await runGuard(db, Date.now() + 3000);
      const s = again.decisions.find((x) => x.flag === "g_sample")!;
      eq(s.applied, "unchanged");
      eq((await decisionsOf(db, "g_sample")).length, 1, "still one row");
      assert(!again.decisions.some((x) => x.flag === "g_err"), "overridden flags are not ramping");
      eq((await decisionsOf(db, "g_err")).length, 1);
      // g_auto entered 50 % just now: its window starts there, so it holds on the sample
      const auto = again.decisions.find((x) => x.flag === "g_auto")!;
      eq(auto.action, "hold");
      eq(auto.metrics.new.calls, 0, "window starts at the stage entry");
    });

    await t.step("unauthorised change: direct SQL raises an alert, the admin API does not", async () => {
      await db.query("update trimtab.feature_flags set rollout_percentage = 50 where key = 'g_sample'");
      await db.tx(async (tx) => {
        await tx.audit({ actor: "admin-1", action: "flag.ramp", reason: "planned" });
        await tx.query("update trimtab.feature_flags set rollout_percentage = 50 where key = 'g_dwell'");
      });
      lines.length = 0;
      const r = await runGuard(db, Date.now() + 4000);
      const un = r.alerts.filter((a) => a.kind === "unauthorised_change");
      eq(un.map((a) => a.flag), ["g_sample"], "only the direct change");
      eq((await alertsOf(db, "g_sample", "unauthorised_change")).length, 1, "alert row");
      assert(lines.some((l) => l.includes("outside the admin API")), "log line");
      const r2 = await runGuard(db, Date.now() + 5000);
      eq(r2.alerts.filter((a) => a.kind === "unauthorised_change").length, 0, "reported once");
    });

    await t.step("three rollbacks of one flag in 24 h: frequent_rollbacks alert", async () => {
      await flag(db, "g_flappy");
      await usage(db, "g_flappy", "old", 30);
      await usage(db, "g_flappy", "new", 30, { status: "timeout" });
      for (let i = 1; i <= 3; i++) {
        const r = await runGuard(db, Date.now() + 6000 + i);
        eq(r.decisions.find((x) => x.flag === "g_flappy")?.applied, "rollback", `rollback ${i}`);
        eq(r.alerts.some((a) => a.kind === "frequent_rollbacks"), i === 3, `frequent alert after ${i}`);
        await db.tx(async (tx) => {
          await tx.audit({ actor: "admin-1", action: "flag.update", reason: "retry" });
          await tx.query("update trimtab.feature_flags set admin_override = null where key = 'g_flappy'");
        });
      }
      eq((await alertsOf(db, "g_flappy", "frequent_rollbacks")).length, 1);
      eq((await audits(db, "g_flappy", "guard.rollback")).length, 3);
      await db.query("update trimtab.feature_flags set admin_override = 'off' where key = 'g_flappy'");
    });

    await t.step("GET /rollout-status: auth, shape, ?flag=", async () => {
      const get = (path: string, token: string | null) => call(rolloutStatus, req(path, { token }));
      eq((await get("/rollout-status", null)).status, 401, "no token");
      eq((await get("/rollout-status", await tk.user("user-7"))).status, 403, "a user");
      const all = await get("/rollout-status", tk.admin);
      eq(all.status, 200);
      assert(all.body.flags.length >= 8, "every flag");
      const svc = await get("/rollout-status?flag=g_err", tk.service);
      eq(svc.status, 200, "service role");
      const [f] = svc.body.flags;
      eq(f.key, "g_err");
      eq(f.adminOverride, "off");
      eq(f.stage, { index: 2, total: 5 });
      eq(f.rollout, 25);
      eq(f.new.calls, 50);
      eq(f.new.errorRate, 0.4);
      eq(f.old.successRate, 1);
      eq(typeof f.new.p95Ms, "number");
      eq(f.lastDecision.action, "rollback");
      assert(f.lastDecision.reasons.some((r: Json) => r.code === "ERROR_RATE"), "last decision reasons");
      assert(!Number.isNaN(Date.parse(f.lastDecision.at)), "decision time");
      eq((await get("/rollout-status?flag=nope", tk.admin)).status, 404, "unknown flag");
      eq((await get("/rollout-status?flag=bad%20key", tk.admin)).status, 400, "bad key");
    });

    await t.step("POST /flags-admin/guard: admin only, returns the decisions", async () => {
      const post = (token: string | null) => call(flagsAdmin, req("/flags-admin/guard", { token, method: "POST" }));
      eq((await post(null)).status, 401);
      eq((await post(await tk.user("user-7"))).status, 403);
      const r = await post(tk.admin);
      eq(r.status, 200);
      assert(Array.isArray(r.body.decisions) && Array.isArray(r.body.alerts), "decisions and alerts");
      assert(r.body.decisions.some((x: Json) => x.flag === "phoenix_pipeline_enabled"), "seeded ramping flag");
      eq((await call(flagsAdmin, req("/flags-admin/guard", { token: tk.admin }))).status, 405, "GET");
    });

    await t.step("RLS: a user reads nothing of the safety tables; an admin reads them", async () => {
      for (const table of ["ai_usage_logs", "alerts", "rollout_decisions", "shadow_comparisons", "response_cache"]) {
        const rows = await db.asUser(
          { sub: "user-7", role: "authenticated" },
          (q) => q.query(`select * from trimtab.${table}`),
        );
        eq(rows.length, 0, `${table} hidden from users`);
      }
      const admin = await db.asUser(
        { sub: "admin-1", role: "authenticated", app_metadata: { role: "admin" } },
        (q) => q.query("select * from trimtab.alerts"),
      );
      assert(admin.length > 0, "admins read alerts");
      let refused = false;
      try {
        await db.asUser(
          { sub: "user-7", role: "authenticated" },
          (q) => q.query("insert into trimtab.alerts (kind, severity, message) values ('x', 'info', 'y')"),
        );
      } catch {
        refused = true;
      }
      assert(refused, "users cannot write alerts");
    });
  } finally {
    setLogSink(prevSink);
  }
}, {
  postgres: async (t, db, tk, pg) => {
    await t.step(
      "the local stack runs the guard on its timer; /functions/v1/rollout-status behind the gateway",
      async () => {
        const before = Date.now();
        await flag(db, "g_timer");
        await usage(db, "g_timer", "new", 3, { pii: true });
        const stack = await startStack(pg.url, { TRIMTAB_GUARD_INTERVAL_MS: "200" });
        try {
          const ran = await eventually(async () => {
            const [s] = await db.query<Json>("select last_run_at from trimtab.guard_state");
            return s.last_run_at !== null && new Date(s.last_run_at).getTime() >= before;
          }, 10_000);
          assert(ran, "the timer ran the guard");
          assert(
            await eventually(async () => (await flagRow(db, "g_timer")).admin_override === "off", 5_000),
            "the timer rolled the flag back",
          );
          const none = await fetch(`${stack.url}/functions/v1/rollout-status`);
          eq(none.status, 401, "gateway: no token");
          await none.body?.cancel();
          const ok = await fetch(`${stack.url}/functions/v1/rollout-status?flag=g_timer`, {
            headers: { authorization: `Bearer ${tk.service}` },
          });
          eq(ok.status, 200);
          const body = await ok.json();
          eq(body.flags[0].lastDecision.action, "rollback");
        } finally {
          await stopStack(stack);
        }
      },
    );
  },
});
