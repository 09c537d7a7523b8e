// End to end: the automatic rollback. phoenix_pipeline_enabled is ramped to 25 % with
// FEATURE_AGENT_CHAT on and a fake OpenAI (tests/deno/fakes.ts) that answers fine; customers in
// the rollout (picked by their bucket) are served by the llm pipeline, the others by the legacy
// parser, and the agent writes a usage row per message (ai_guard.ts -> usage.ts). The guard holds
// (too small a sample). At a set moment the model starts answering 500: the agent falls back to
// legacy per message and the new pipeline's error rate climbs; POST /flags-admin/guard rolls the
// flag back (adminOverride off, audit row guard.rollback naming the breached error-rate threshold,
// a rollout_decisions row, alerts), and every later message is served by the old pipeline: no
// further OpenAI call, legacy replies, no fallback. On PGlite and a real Debian Postgres.
import "../../supabase/functions/_shared/platform/routed.ts";
import whatsapp from "../../supabase/functions/ai-whatsapp-webhook/index.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import { resetAgent } from "../../supabase/functions/_shared/agent/agent.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { resetDedupWindow } from "../../supabase/functions/_shared/agent/dedup.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { bucket } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { fakeMeta, fakeOpenAI, waPayload, waRequest } from "./fakes.ts";
import { assert, call, envScope, eq, logCapture, onBothBackends, req, type Tokens } from "./support.ts";

import type { Json } from "./support.ts";

const APP_SECRET = "wa-app-secret-for-rollout-e2e-0123";
const WA_TOKEN = "EAAGrollouttesttoken0123456789";
const OA_KEY = "sk-test-rollout-fake-key-0123456789";
const URL_ = "http://127.0.0.1/ai-whatsapp-webhook";
const FLAG = "phoenix_pipeline_enabled";
const ROLLOUT = 25;

/** Phones (WhatsApp digits) whose bucket for FLAG is inside / outside ROLLOUT %. */
function pickPhones(n: number): { inside: string[]; outside: string[] } {
  const inside: string[] = [], outside: string[] = [];
  for (let i = 0; inside.length < n || outside.length < n; i++) {
    const digits = `25078830${String(i).padStart(4, "0")}`;
    const inRollout = bucket(FLAG, `+${digits}`) < ROLLOUT * 10_000;
    if (inRollout && inside.length < n) inside.push(digits);
    if (!inRollout && outside.length < n) outside.push(digits);
  }
  return { inside, outside };
}

const { lines, sink } = logCapture();
const envs = envScope();
let seq = 0;

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const meta = fakeMeta(WA_TOKEN);
  const openai = fakeOpenAI(OA_KEY);
  const prevSink = setLogSink(sink);
  envs.set({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    OPENAI_API_BASE: openai.url,
    OPENAI_API_KEY: OA_KEY,
    FEATURE_AGENT_CHAT: "true",
    AGENT_LLM_TIMEOUT_MS: "2000",
    AGENT_RATE_LIMIT_PER_MIN: "1000",
    AGENT_SHADOW_SAMPLE: "0",
    AGENT_STAFF_PHONES: undefined,
  });
  resetAgent();
  resetDedupWindow();
  const { inside, outside } = pickPhones(4);

  const say = async (from: string, text: string) => {
    const n = meta.sent.length;
    const res = await whatsapp(
      waRequest(URL_, waPayload([{ messages: [{ id: `wamid.E2E${Date.now()}${++seq}`, from, text }] }]), {
        secret: APP_SECRET,
      }),
    );
    eq(res.status, 200, "webhook answer");
    await res.body?.cancel();
    const out = meta.sent.slice(n);
    eq(out.length, 1, `one reply to "${text}"`);
    return { text: out[0].body.text.body as string, meta: JSON.parse(out[0].body.biz_opaque_callback_data) };
  };
  const usageRows = async (pipeline: string) =>
    Number(
      (await db.query<{ n: unknown }>(
        "select count(*) as n from trimtab.ai_usage_logs where flag_key = $1 and pipeline = $2 and not shadow",
        [FLAG, pipeline],
      ))[0].n,
    );
  const guard = async () => {
    const r = await call(flagsAdmin, req("/flags-admin/guard", { token: tk.service, method: "POST" }));
    eq(r.status, 200, "guard run");
    return r.body.decisions.find((d: Json) => d.flag === FLAG);
  };

  try {
    await t.step("ramp to 25 % (as the admin API does: flag.ramp)", async () => {
      await db.tx(async (tx) => {
        await tx.audit({ actor: "admin-1", action: "flag.ramp", reason: "e2e ramp" });
        await tx.query(
          `update trimtab.feature_flags set rollout_percentage = $2::text::numeric, admin_override = null,
             metadata = $3::text::jsonb where key = $1`,
          // the legacy parser answers in well under a millisecond: the latency ratio is not what
          // this test is about; a small sample suffices to roll back on errors
          [FLAG, String(ROLLOUT), JSON.stringify({ guard: { minRollbackSample: 5, maxLatencyRatio: 1000 } })],
        );
      });
      invalidate();
    });

    await t.step("healthy: in-rollout customers get the llm pipeline; the guard holds", async () => {
      for (let round = 0; round < 2; round++) {
        for (const p of inside) {
          const c0 = openai.chats.length;
          const r = await say(p, `hello there, question ${round}-${p}`);
          eq(openai.chats.length, c0 + 1, "one model call");
          eq([r.meta.pipeline, r.meta.fallback], ["llm", undefined], `served by llm for ${p.slice(-4)}`);
        }
        for (const p of outside) {
          const c0 = openai.chats.length;
          const r = await say(p, `hello there, question ${round}-${p}`);
          eq(openai.chats.length, c0, "no model call");
          eq(r.meta.pipeline, "legacy", "legacy for customers outside the rollout");
        }
      }
      eq(await usageRows("new"), 8, "the agent wrote a usage row per llm message");
      eq(await usageRows("old"), 8, "and per legacy message");
      const d = await guard();
      eq(d.action, "hold", "healthy but a small sample: hold");
      assert(d.reasons.some((r: Json) => r.code === "SAMPLE"), "sample reason");
      eq(
        (await db.query<Json>("select admin_override from trimtab.feature_flags where key = $1", [FLAG]))[0]
          .admin_override,
        null,
      );
    });

    await t.step("the model starts failing: each message falls back to legacy", async () => {
      openai.fallback = { status: 500 };
      for (let round = 0; round < 3; round++) {
        for (const p of inside) {
          const c0 = openai.chats.length;
          const r = await say(p, `are you there? ${round}-${p}`);
          eq(openai.chats.length, c0 + 1, "the model was asked");
          eq(r.meta.pipeline, "legacy", "legacy served");
          assert(typeof r.meta.fallback === "string" && r.meta.fallback.length > 0, "fallback noted");
        }
      }
      const errs = Number(
        (await db.query<{ n: unknown }>(
          "select count(*) as n from trimtab.ai_usage_logs where flag_key = $1 and pipeline = 'new' and status <> 'ok'",
          [FLAG],
        ))[0].n,
      );
      eq(errs, 12, "error usage rows");
    });

    let rolledBackAt = 0;
    await t.step("the guard rolls the flag back automatically, audited", async () => {
      lines.length = 0;
      const d = await guard();
      eq(d.action, "rollback");
      eq(d.applied, "rollback");
      assert(d.reasons.some((r: Json) => r.code === "ERROR_RATE"), "error-rate threshold breached");
      rolledBackAt = Date.now();
      const [f] = await db.query<Json>(
        "select admin_override, rollout_percentage from trimtab.feature_flags where key = $1",
        [
          FLAG,
        ],
      );
      eq(f.admin_override, "off", "adminOverride off");
      eq(Number(f.rollout_percentage), ROLLOUT, "the rollout itself is kept for a later retry");
      const audit = await db.query<Json>(
        "select * from trimtab.flag_audit_log where flag_key = $1 and action = 'guard.rollback'",
        [FLAG],
      );
      eq(audit.length, 1, "one audit row");
      eq(audit[0].actor, "guard");
      assert(/error rate 60\.0% \(12 of 20 calls\) is above the 10\.0% limit/.test(audit[0].reason), audit[0].reason);
      const dec = await db.query<Json>(
        "select * from trimtab.rollout_decisions where flag_key = $1 and action = 'rollback'",
        [
          FLAG,
        ],
      );
      eq(dec.length, 1, "decision row");
      const kinds = (await db.query<Json>("select kind from trimtab.alerts where flag_key = $1 order by id", [FLAG]))
        .map((a) => a.kind);
      assert(kinds.includes("rollback") && kinds.includes("error_rate"), `alerts: ${kinds}`);
      assert(lines.some((l) => l.includes('"level":"error"') && l.includes("rolled back")), "error log line");
    });

    await t.step("every later message is served by the old pipeline: no more model calls", async () => {
      const chats0 = openai.chats.length;
      const new0 = await usageRows("new");
      for (const p of [...inside, ...outside]) {
        for (let i = 0; i < 2; i++) {
          const r = await say(p, `after the rollback ${i}-${p}`);
          eq([r.meta.pipeline, r.meta.fallback], ["legacy", undefined], `legacy, no fallback, for ${p.slice(-4)}`);
          assert(r.text.length > 0, "a legacy reply");
        }
      }
      eq(openai.chats.length, chats0, "no OpenAI call after the rollback");
      eq(await usageRows("new"), new0, "no new-pipeline usage rows");
      const status = await call(
        (await import("../../supabase/functions/rollout-status/index.ts")).default,
        req(`/rollout-status?flag=${FLAG}`, { token: tk.admin }),
      );
      eq(status.status, 200);
      eq(status.body.flags[0].adminOverride, "off");
      eq(status.body.flags[0].lastDecision.action, "rollback");
      assert(Date.parse(status.body.flags[0].lastDecision.at) <= rolledBackAt, "decision time");
    });
  } finally {
    setLogSink(prevSink);
    envs.restore();
    resetAgent();
    await openai.close();
    await meta.close();
  }
}

onBothBackends("rollout e2e: automatic rollback", checks);
