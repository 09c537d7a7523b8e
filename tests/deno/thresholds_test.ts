// Every threshold of the plans, breached one at a time, on PGlite and a real Debian Postgres: a
// ramping flag per threshold (its other checks moved out of the way through metadata.guard), usage
// rows crafted to cross exactly that level, one guard run. Each breach is the decision's named
// reason at its level, an alert of its code, delivered to a local webhook receiver that verifies
// the Standard Webhooks signature with the core and to a Slack-compatible receiver; each critical
// one also rolls the flag back (adminOverride off, the guard.rollback audit row naming the
// threshold, a rollback alert). A missed p95 target holds without an alert. GET /rollout-status
// shows every threshold in force with its measured value and state, the hourly views and the top
// error codes.
import "../../supabase/functions/_shared/platform/routed.ts";
import rolloutStatus from "../../supabase/functions/rollout-status/index.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { runGuard } from "../../supabase/functions/_shared/safety/guard.ts";
import { alertReceiver, webhookSecret } from "./fakes.ts";
import { adminApi, assert, call, envScope, eq, logCapture, onBothBackends, req } from "./support.ts";

import type { Json } from "./support.ts";

const STAGES = "{1,5,25,50,100}";
/** Moves every check but one out of the way. */
const LOOSE = {
  errorRateWarning: 1,
  maxErrorRate: 1,
  minSuccessRate: 0,
  successRateCritical: 0,
  errorMarginWarning: 1,
  errorMargin: 1,
  maxLatencyRatio: 1000,
  p95TargetMs: 1e9,
  p95WarningMs: 1e9,
  p95CriticalMs: 1e9,
  costPerConversationWarning: 1e9,
  costPerConversationCritical: 1e9,
  costSpikeRatio: 1e9,
};

interface Rows {
  n: number;
  errors?: number;
  latencyMs?: number;
  costUsd?: number;
  pii?: number;
}

interface Case {
  flag: string;
  /** The guard settings that stay at their defaults (the rest LOOSE). */
  keep: (keyof typeof LOOSE)[];
  old: Rows;
  new: Rows;
  code: string;
  level: "warning" | "critical" | null;
}

const CASES: Case[] = [
  {
    flag: "t_error_warn",
    keep: ["errorRateWarning", "maxErrorRate"],
    old: { n: 100 },
    new: { n: 100, errors: 5 },
    code: "ERROR_RATE",
    level: "warning",
  },
  {
    flag: "t_error_crit",
    keep: ["errorRateWarning", "maxErrorRate"],
    old: { n: 100 },
    new: { n: 100, errors: 20 },
    code: "ERROR_RATE",
    level: "critical",
  },
  {
    flag: "t_success_warn",
    keep: ["minSuccessRate", "successRateCritical"],
    old: { n: 100 },
    new: { n: 100, errors: 7 },
    code: "SUCCESS_RATE",
    level: "warning",
  },
  {
    flag: "t_success_crit",
    keep: ["minSuccessRate", "successRateCritical"],
    old: { n: 100 },
    new: { n: 100, errors: 15 },
    code: "SUCCESS_RATE",
    level: "critical",
  },
  {
    flag: "t_vs_old_warn",
    keep: ["errorMarginWarning", "errorMargin"],
    old: { n: 100, errors: 2 },
    new: { n: 100, errors: 4 },
    code: "ERROR_RATE_VS_OLD",
    level: "warning",
  },
  {
    flag: "t_vs_old_crit",
    keep: ["errorMarginWarning", "errorMargin"],
    old: { n: 100, errors: 2 },
    new: { n: 100, errors: 9 },
    code: "ERROR_RATE_VS_OLD",
    level: "critical",
  },
  {
    flag: "t_latency_ratio",
    keep: ["maxLatencyRatio"],
    old: { n: 100, latencyMs: 100 },
    new: { n: 100, latencyMs: 500 },
    code: "LATENCY",
    level: "critical",
  },
  {
    flag: "t_p95_warn",
    keep: ["p95WarningMs", "p95CriticalMs"],
    old: { n: 100 },
    new: { n: 100, latencyMs: 3500 },
    code: "P95_LATENCY",
    level: "warning",
  },
  {
    flag: "t_p95_crit",
    keep: ["p95WarningMs", "p95CriticalMs"],
    old: { n: 100 },
    new: { n: 100, latencyMs: 6000 },
    code: "P95_LATENCY",
    level: "critical",
  },
  {
    flag: "t_cost_warn",
    keep: ["costPerConversationWarning", "costPerConversationCritical"],
    old: { n: 100 },
    new: { n: 100, costUsd: 0.15 },
    code: "COST_PER_CONVERSATION",
    level: "warning",
  },
  {
    flag: "t_cost_crit",
    keep: ["costPerConversationWarning", "costPerConversationCritical"],
    old: { n: 100 },
    new: { n: 100, costUsd: 0.25 },
    code: "COST_PER_CONVERSATION",
    level: "critical",
  },
  {
    flag: "t_cost_spike",
    keep: ["costSpikeRatio"],
    old: { n: 100, costUsd: 0.01 },
    new: { n: 100, costUsd: 0.03 },
    code: "COST_SPIKE",
    level: "warning",
  },
  { flag: "t_pii", keep: [], old: { n: 100 }, new: { n: 1, pii: 1 }, code: "PII_LEAK", level: "critical" },
  {
    flag: "t_p95_target",
    keep: ["p95TargetMs"],
    old: { n: 100 },
    new: { n: 100, latencyMs: 2500 },
    code: "P95_TARGET",
    level: null,
  },
];

async function flag(db: Db, c: Case): Promise<void> {
  const guard: Record<string, unknown> = { ...LOOSE, dwellMs: 0, minSample: 100 };
  for (const k of c.keep) delete guard[k];
  await db.tx(async (tx) => {
    await tx.audit({ actor: "test", action: "flag.create", reason: "thresholds test" });
    await tx.query(
      `insert into trimtab.feature_flags (key, enabled, rollout_percentage, stages, metadata)
       values ($1, true, 25, $2::text::numeric[], $3::text::jsonb)`,
      [c.flag, STAGES, JSON.stringify({ guard })],
    );
  });
}

async function usage(db: Db, key: string, pipeline: "old" | "new", r: Rows): Promise<void> {
  await db.query(
    `insert into trimtab.ai_usage_logs (feature, flag_key, pipeline, provider, status, error_code, latency_ms,
                                        cost_usd, pii_leak, correlation_id)
     select 'test', $1, $2, 'openai', case when g <= $3 then 'error' else 'ok' end,
            case when g <= $3 then 'OPENAI_HTTP_ERROR' end, $4, $5, g <= $6, $2 || '-' || $1 || '-' || g
       from generate_series(1, $7::int) g`,
    [key, pipeline, r.errors ?? 0, r.latencyMs ?? 100, r.costUsd ?? 0, r.pii ?? 0, r.n],
  );
}

const { sink } = logCapture();
const envs = envScope();

onBothBackends("thresholds", async (t, db, tk) => {
  const secret = webhookSecret();
  const hook = alertReceiver(secret);
  const slack = alertReceiver(null, { slack: true });
  const prevSink = setLogSink(sink);
  envs.set({ TRIMTAB_ALERT_SECRETS: JSON.stringify({ HOOK_KEY: secret, SLACK_URL: `${slack.url}/services/T0/B0/x` }) });
  const admin = adminApi(flagsAdmin, tk);
  try {
    for (
      const body of [
        { name: "on-call webhook", kind: "webhook", url: `${hook.url}/alerts`, signingSecret: "HOOK_KEY" },
        { name: "team slack", kind: "slack", urlSecret: "SLACK_URL", minSeverity: "critical" },
      ]
    ) eq((await admin("/alert-destinations", { method: "POST", body })).status, 201, body.name);
    for (const c of CASES) {
      await flag(db, c);
      await usage(db, c.flag, "old", c.old);
      await usage(db, c.flag, "new", c.new);
    }
    const now = Date.now() + 1000;
    const run = await runGuard(db, now);
    const decision = (k: string) => run.decisions.find((d) => d.flag === k)!;
    const hooked = (k: string) => hook.received.filter((r) => r.body?.data?.flag === k);

    for (const c of CASES) {
      await t.step(`${c.code}${c.level ? ` ${c.level}` : ""}: ${c.flag}`, async () => {
        const d = decision(c.flag);
        if (c.level === null) {
          eq([d.action, d.reasons.map((r) => r.code), d.breaches.length], ["hold", [c.code], 0], "a hold, no breach");
          eq(hooked(c.flag).length, 0, "no alert");
          return;
        }
        eq(d.breaches.map((b) => [b.code, b.level]), [[c.code, c.level]], "the one breach");
        const b = d.breaches[0];
        assert(typeof b.value === "number" && typeof b.threshold === "number", "value and threshold");
        eq(d.action, c.level === "critical" ? "rollback" : "hold", "action");
        eq(d.reasons[0].code, c.code, "the named reason");
        const [alert] = await db.query<Json>(
          "select * from trimtab.alerts where flag_key = $1 and kind = $2",
          [c.flag, c.code.toLowerCase()],
        );
        eq(alert?.severity, c.level, "alert row at the breach's level");
        const got = hooked(c.flag).find((r) => r.body.data.kind === c.code.toLowerCase());
        assert(got, `delivered to the webhook receiver (${hooked(c.flag).map((r) => r.body.data.kind)})`);
        assert(got.verified, `signature verified by the core (${got.error})`);
        eq([got.body.type, got.body.data.severity], ["trimtab.alert", c.level], "payload");
        eq(got.headers["webhook-id"], `trimtab-alert-${alert.id}`, "webhook-id names the alert");
        const [delivery] = await db.query<Json>(
          "select * from trimtab.alert_deliveries where alert_id = $1 and destination_name = 'on-call webhook'",
          [alert.id],
        );
        eq([Number(delivery.attempts), Number(delivery.last_status)], [1, 200], "delivery recorded");
        assert(delivery.delivered_at !== null && delivery.next_attempt_at === null, "delivered");
        const [f] = await db.query<Json>("select admin_override from trimtab.feature_flags where key = $1", [c.flag]);
        if (c.level === "critical") {
          eq(f.admin_override, "off", "rolled back");
          const [audit] = await db.query<Json>(
            "select * from trimtab.flag_audit_log where flag_key = $1 and action = 'guard.rollback'",
            [c.flag],
          );
          eq(audit?.actor, "guard", "audit row by the guard");
          assert(audit.reason.includes(b.message), `audit reason names the threshold: ${audit.reason}`);
          assert(hooked(c.flag).some((r) => r.body.data.kind === "rollback" && r.verified), "rollback alert delivered");
          const slacked = slack.received.filter((r) => r.body.text.includes(c.flag));
          assert(slacked.length >= 2 && slacked.every((r) => r.verified), "Slack got the critical alerts");
          assert(slacked.some((r) => r.body.text.includes("CRITICAL rollback")), "Slack text");
        } else {
          eq(f.admin_override, null, "a warning does not roll back");
          eq(slack.received.filter((r) => r.body.text.includes(c.flag)).length, 0, "Slack takes critical only");
        }
      });
    }

    await t.step("GET /rollout-status: every threshold in force, its value and state; views", async () => {
      const r = await call(rolloutStatus, req("/rollout-status?flag=t_p95_warn&hours=3", { token: tk.admin }));
      eq(r.status, 200);
      const [f] = r.body.flags;
      eq(f.guard.thresholds.p95WarningMs, 3000, "a default in force");
      eq(f.guard.thresholds.maxErrorRate, 1, "a flag's own setting in force");
      eq(Object.keys(f.guard.thresholds).length, 21, "every setting");
      const p95 = f.guard.checks.find((c: Json) => c.code === "P95_LATENCY");
      eq([p95.value, p95.warning, p95.critical, p95.state], [3500, 3000, 5000, "warning"], "the check");
      eq(f.guard.action, "hold");
      eq(f.cutover.required, false, "no shadow data: no cutover gate");
      eq(r.body.views.hourly.length >= 3, true, "hours");
      const calls = r.body.views.hourly.reduce((n: number, h: Json) => n + h.new.calls, 0);
      eq(calls, 100, "requests per hour add up to the rows");
      const errs = await call(rolloutStatus, req("/rollout-status?flag=t_error_crit", { token: tk.admin }));
      eq(errs.body.views.topErrors, [{ code: "OPENAI_HTTP_ERROR", pipeline: "new", count: 20 }], "top error codes");
      assert(errs.body.flags[0].new.costPerConversation === 0, "cost per conversation per pipeline");
      eq((await call(rolloutStatus, req("/rollout-status?hours=0", { token: tk.admin }))).status, 400, "bad hours");
    });
  } finally {
    setLogSink(prevSink);
    envs.restore();
    await hook.close();
    await slack.close();
  }
});
