// End to end: the cutover gate, on PGlite and a real Debian Postgres. phoenix_pipeline_enabled
// ramps at 50 % (auto-ramp on, otherwise healthy); every message the legacy parser serves is
// shadowed by the new pipeline, through a fake OpenAI whose answers drift from the legacy ones. The
// shadow comparisons argue against 100 %: an admin's PATCH to 100 is refused (409
// CUTOVER_CHECK_FAILED naming SIMILARITY, with the summary), the guard does not advance (its
// decision carries the gate's reasons; a cutover_blocked alert), a forced PATCH needs a reason and
// is audited (flag.cutover.forced). A day later the provider is fixed: its answers match, the gate
// passes on enough comparisons, the guard advances to 100 % and an admin's PATCH to 100 succeeds.
import "../../supabase/functions/_shared/platform/routed.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import rolloutStatus from "../../supabase/functions/rollout-status/index.ts";
import { PIPELINE_FLAG, REPLIES, resetAgent, runAgent } from "../../supabase/functions/_shared/agent/agent.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { logger, setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { bucket } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { shadowIdle } from "../../supabase/functions/_shared/safety/shadow.ts";
import { fakeOpenAI } from "./fakes.ts";
import { adminApi, assert, call, envScope, eq, logCapture, onBothBackends, req, type Tokens } from "./support.ts";

import type { Json } from "./support.ts";

const OA_KEY = "sk-test-cutover-fake-key-0123456789";
const SAMPLES = 12;

/** Phones whose bucket for the pipeline flag is inside / outside 50 %. */
function phones(n: number): { inside: string[]; outside: string[] } {
  const inside: string[] = [], outside: string[] = [];
  for (let i = 0; inside.length < n || outside.length < n; i++) {
    const p = `+25078860${String(i).padStart(4, "0")}`;
    const list = bucket(PIPELINE_FLAG, p) < 500_000 ? inside : outside;
    if (list.length < n) list.push(p);
  }
  return { inside, outside };
}

const { sink } = logCapture();
const envs = envScope();

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const openai = fakeOpenAI(OA_KEY);
  const prevSink = setLogSink(sink);
  envs.set({
    OPENAI_API_BASE: openai.url,
    OPENAI_API_KEY: OA_KEY,
    AGENT_LLM_TIMEOUT_MS: "2000",
    AGENT_RATE_LIMIT_PER_MIN: "1000",
    AGENT_SHADOW_SAMPLE: "1",
    AI_PIPELINE: undefined,
  });
  resetAgent();
  const admin = adminApi(flagsAdmin, tk);
  const { inside, outside } = phones(SAMPLES);
  const ask = (phone: string) =>
    runAgent({ phone, text: "hello", correlationId: `cid-${crypto.randomUUID()}`, log: logger({ t: "cutover" }), db });
  /** One message from everyone: the inside ones served by the model, the outside ones shadowed. */
  const traffic = async () => {
    for (const p of inside) eq((await ask(p)).pipeline, "llm", "inside: the new pipeline");
    for (const p of outside) eq((await ask(p)).pipeline, "legacy", "outside: legacy, shadowed");
    await shadowIdle();
  };
  const guard = async () => {
    const r = await admin("/guard", { method: "POST", token: tk.service });
    eq(r.status, 200);
    return r.body.decisions.find((d: Json) => d.flag === PIPELINE_FLAG);
  };
  const rollout = async () =>
    Number(
      (await db.query<Json>("select rollout_percentage from trimtab.feature_flags where key = $1", [PIPELINE_FLAG]))[0]
        .rollout_percentage,
    );
  try {
    await t.step("setup: 50 % with auto-ramp, otherwise healthy; the cutover check required (seed)", async () => {
      const guardSettings = {
        maxLatencyRatio: 1000,
        cutoverMaxLatencyRatio: 1000,
        requireCutover: true,
        cutoverMinSamples: 10,
        dwellMs: 0,
        minSample: 5,
        minRollbackSample: 5,
      };
      for (const to of [25, 50]) {
        const r = await admin(`/flags/${PIPELINE_FLAG}`, {
          method: "PATCH",
          body: { rollout: to, metadata: { autoRamp: true, guard: guardSettings } },
        });
        eq(r.status, 200, `ramp to ${to}`);
      }
      invalidate();
    });

    await t.step("drifting answers: an admin's ramp to 100 % is refused, naming the criterion", async () => {
      openai.fallback = { content: "Our offices are closed on public holidays, see the website." };
      await traffic();
      const [n] = await db.query<Json>("select count(*) as n, max(similarity) as top from trimtab.shadow_comparisons");
      eq(Number(n.n), SAMPLES, "one comparison per legacy-served message");
      assert(Number(n.top) < 0.5, `the answers drifted: ${n.top}`);
      const r = await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { rollout: 100 } });
      eq([r.status, r.body.error.code], [409, "CUTOVER_CHECK_FAILED"]);
      eq(r.body.error.failed.map((f: Json) => f.code), ["SIMILARITY"], "the failing criterion");
      eq(r.body.error.summary.samples, SAMPLES, "what was measured");
      assert(/similarity/.test(r.body.error.message), r.body.error.message);
      eq(await rollout(), 50, "still 50 %");
      const on = await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { adminOverride: "on" } });
      eq([on.status, on.body.error.code], [409, "CUTOVER_CHECK_FAILED"], "adminOverride on is full exposure too");
    });

    await t.step("the guard does not advance either: decision with the gate's reasons, alert", async () => {
      const d = await guard();
      eq([d.action, d.applied, d.toRollout], ["advance", "recorded", 50], "healthy, but not advanced");
      eq(d.cutover.ok, false);
      assert(d.reasons.some((r: Json) => r.code === "CUTOVER_SIMILARITY"), JSON.stringify(d.reasons));
      const [a] = await db.query<Json>(
        "select * from trimtab.alerts where kind = 'cutover_blocked' and flag_key = $1",
        [
          PIPELINE_FLAG,
        ],
      );
      assert(a && a.severity === "warning", "cutover_blocked alert");
      eq(await rollout(), 50);
      const s = await call(rolloutStatus, req(`/rollout-status?flag=${PIPELINE_FLAG}`, { token: tk.admin }));
      eq([s.body.flags[0].cutover.required, s.body.flags[0].cutover.ok], [true, false], "rollout-status shows it");
      eq(s.body.flags[0].cutover.summary.samples, SAMPLES);
    });

    await t.step("forcing past the gate needs a reason and is audited", async () => {
      const noReason = await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { rollout: 100, force: true } });
      eq([noReason.status, noReason.body.error.code], [400, "REASON_REQUIRED"]);
      const forced = await admin(`/flags/${PIPELINE_FLAG}`, {
        method: "PATCH",
        body: { rollout: 100, force: true, reason: "CEO demo, reverting in an hour" },
      });
      eq([forced.status, forced.body.forced, forced.body.flag.rollout], [200, true, 100]);
      const [a] = await db.query<Json>(
        "select actor, reason, after from trimtab.flag_audit_log where action = 'flag.cutover.forced' and flag_key = $1",
        [PIPELINE_FLAG],
      );
      eq([a.actor, a.reason], ["admin-1", "CEO demo, reverting in an hour"], "who and why");
      const after = typeof a.after === "string" ? JSON.parse(a.after) : a.after;
      eq(after.failed, ["SIMILARITY"], "what was forced past");
      eq((await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { rollout: 50 } })).status, 200, "back");
      invalidate();
    });

    await t.step("a day later the provider is fixed: the gate passes; the guard advances to 100 %", async () => {
      await db.query("update trimtab.shadow_comparisons set at = at - interval '2 days'");
      openai.fallback = { content: REPLIES.greet };
      await traffic();
      const d = await guard();
      eq([d.action, d.applied, d.toRollout], ["advance", "advance", 100], "advanced");
      eq([d.cutover.required, d.cutover.ok], [true, true], "through the gate");
      eq(await rollout(), 100);
      const [audit] = await db.query<Json>(
        "select actor from trimtab.flag_audit_log where action = 'guard.advance' and flag_key = $1",
        [PIPELINE_FLAG],
      );
      eq(audit.actor, "guard");
    });

    await t.step("and an admin's ramp to 100 % is allowed once the check passes", async () => {
      eq((await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { rollout: 50 } })).status, 200);
      const r = await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { rollout: 100 } });
      eq([r.status, r.body.flag.rollout, r.body.forced], [200, 100, undefined], "not forced");
    });
  } finally {
    await shadowIdle();
    setLogSink(prevSink);
    envs.restore();
    resetAgent();
    await openai.close();
  }
}

onBothBackends("cutover e2e: the gate on drifting shadow answers", checks);
