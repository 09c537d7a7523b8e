// The safety switches through the webhooks, on PGlite and a real Debian Postgres, with the fake
// OpenAI and Graph API:
// - a PII leak: the fake model answers with a phone number; the customer's WhatsApp reply is masked,
//   the usage row counts the leak, and the flag is rolled back at once (audited as the guard with
//   the PII_LEAK reason, a decision row, a rollback alert delivered to a signing receiver); the
//   next message is served by the legacy parser without a model call;
// - AI_PIPELINE=legacy, as the environment variable and as the flag: every AI path goes back to the
//   old pipeline at once (no model call, no shadow call; a voice call is rejected), and back again.
import "../../supabase/functions/_shared/platform/routed.ts";
import whatsapp from "../../supabase/functions/ai-whatsapp-webhook/index.ts";
import realtime from "../../supabase/functions/ai-realtime-webhook/index.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import { PIPELINE_FLAG, REPLIES, resetAgent } from "../../supabase/functions/_shared/agent/agent.ts";
import { resetDedupWindow } from "../../supabase/functions/_shared/agent/dedup.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { bucket } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { shadowIdle } from "../../supabase/functions/_shared/safety/shadow.ts";
import {
  alertReceiver,
  fakeMeta,
  fakeOpenAI,
  incomingCall,
  openaiRequest,
  waPayload,
  waRequest,
  webhookSecret,
} from "./fakes.ts";
import { adminApi, assert, envScope, eq, eventually, logCapture, onBothBackends, type Tokens } from "./support.ts";

import type { Json } from "./support.ts";

const APP_SECRET = "wa-app-secret-for-switches-0123";
const WA_TOKEN = "EAAGswitchestoken0123456789";
const OA_KEY = "sk-test-switches-fake-key-0123456789";
const WHSEC = "whsec_" + btoa("switches-test-secret-0123456789ab");
const WA_URL = "http://127.0.0.1/ai-whatsapp-webhook";
const RT_URL = "http://127.0.0.1/ai-realtime-webhook";
/** Two customers (WhatsApp digits) inside the pipeline flag's 25 % rollout. */
const [ANA, BEN] = (() => {
  const out: string[] = [];
  for (let i = 0; out.length < 2; i++) {
    const digits = `25078850${String(i).padStart(4, "0")}`;
    if (bucket(PIPELINE_FLAG, `+${digits}`) < 250_000) out.push(digits);
  }
  return out;
})();

const { lines, sink } = logCapture();
const envs = envScope();
let seq = 0;

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const meta = fakeMeta(WA_TOKEN);
  const openai = fakeOpenAI(OA_KEY);
  const secret = webhookSecret();
  const hook = alertReceiver(secret);
  const prevSink = setLogSink(sink);
  envs.set({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    OPENAI_API_BASE: openai.url,
    OPENAI_API_KEY: OA_KEY,
    OPENAI_WEBHOOK_SECRET: WHSEC,
    FEATURE_AGENT_CHAT: "true",
    FEATURE_AGENT_VOICE: "true",
    AGENT_RATE_LIMIT_PER_MIN: "1000",
    AGENT_SHADOW_SAMPLE: "0",
    AGENT_STAFF_PHONES: undefined,
    AI_PIPELINE: undefined,
    TRIMTAB_ALERT_WEBHOOK_URL: `${hook.url}/alerts`,
    TRIMTAB_ALERT_WEBHOOK_SECRET: secret,
  });
  resetAgent();
  resetDedupWindow();
  const admin = adminApi(flagsAdmin, tk);
  const say = async (from: string, text: string) => {
    const n = meta.sent.length;
    const res = await whatsapp(
      waRequest(WA_URL, waPayload([{ messages: [{ id: `wamid.SW${Date.now()}${++seq}`, from, text }] }]), {
        secret: APP_SECRET,
      }),
    );
    eq(res.status, 200);
    await res.body?.cancel();
    const out = meta.sent.slice(n);
    eq(out.length, 1, "one reply");
    return { text: out[0].body.text.body as string, meta: JSON.parse(out[0].body.biz_opaque_callback_data) };
  };
  const override = (flag: string, unit: string, enabled: boolean) =>
    admin("/overrides", { method: "PUT", body: { flag, unit, enabled, reason: "switches test" } });
  try {
    // The flag ramps at 25 %; both customers are inside it.
    eq((await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { rollout: 25 } })).status, 200);
    eq((await override("FEATURE_AGENT_VOICE", "+14155550123", true)).status, 201, "the voice caller");
    invalidate();

    await t.step("a reply with a phone number is masked, counted, and rolls the flag back at once", async () => {
      openai.script.push({ content: "Sure! Call our agent on +250 788 123 456 and they will help." });
      lines.length = 0;
      const r = await say(ANA, "who can I call?");
      eq(r.meta.pipeline, "llm", "the new pipeline answered");
      eq(r.text, "Sure! Call our agent on [phone ..56] and they will help.", "masked before sending");
      assert(!meta.sent.some((s) => s.body.text.body.includes("788 123")), "the number never left");
      const [u] = await db.query<Json>(
        "select pii_leak, status from trimtab.ai_usage_logs where flag_key = $1 and pipeline = 'new' order by id desc limit 1",
        [PIPELINE_FLAG],
      );
      eq([u.pii_leak, u.status], [true, "ok"], "the usage row counts the leak");
      const [f] = await db.query<Json>("select admin_override from trimtab.feature_flags where key = $1", [
        PIPELINE_FLAG,
      ]);
      eq(f.admin_override, "off", "rolled back immediately");
      const [audit] = await db.query<Json>(
        "select actor, reason from trimtab.flag_audit_log where flag_key = $1 and action = 'guard.rollback'",
        [PIPELINE_FLAG],
      );
      eq(audit.actor, "guard");
      assert(/PII/.test(audit.reason), `audit reason: ${audit.reason}`);
      const [d] = await db.query<Json>("select action, reasons from trimtab.rollout_decisions where flag_key = $1", [
        PIPELINE_FLAG,
      ]);
      eq([d.action, (typeof d.reasons === "string" ? JSON.parse(d.reasons) : d.reasons)[0].code], [
        "rollback",
        "PII_LEAK",
      ]);
      const rollbackAlert = () =>
        hook.received.find((x) => x.body?.data?.kind === "rollback" && x.body.data.flag === PIPELINE_FLAG);
      assert(
        await eventually(() => Promise.resolve(rollbackAlert() !== undefined), 5_000),
        "the rollback alert was delivered",
      );
      assert(rollbackAlert()!.verified, "signed");
      assert(lines.some((l) => l.includes("PII leak masked") && !l.includes("788 123")), "logged without the number");
      const chats = openai.chats.length;
      const next = await say(BEN, "hello");
      eq([next.meta.pipeline, next.text, openai.chats.length], ["legacy", REPLIES.greet, chats], "legacy from now on");
      // undo for the next step
      eq((await admin(`/flags/${PIPELINE_FLAG}`, { method: "PATCH", body: { adminOverride: null } })).status, 200);
      invalidate();
    });

    await t.step("AI_PIPELINE=legacy (environment): every AI path is the old pipeline at once", async () => {
      openai.fallback = { content: "From the model." };
      eq((await say(ANA, "hello")).meta.pipeline, "llm", "before: the model answers");
      envs.set({ AI_PIPELINE: "legacy", AGENT_SHADOW_SAMPLE: "1" });
      const chats = openai.chats.length;
      const r = await say(ANA, "hello");
      await shadowIdle();
      eq([r.meta.pipeline, r.text], ["legacy", REPLIES.greet], "legacy");
      eq(openai.chats.length, chats, "no model call, no shadow call");
      const call = await realtime(openaiRequest(RT_URL, incomingCall("call_sw1"), { secret: WHSEC, id: "wh_sw1" }));
      eq(call.status, 200);
      await call.body?.cancel();
      eq([openai.calls.at(-1)?.action, openai.calls.at(-1)?.callId], ["reject", "call_sw1"], "voice off");
      envs.set({ AI_PIPELINE: "auto", AGENT_SHADOW_SAMPLE: "0" });
      eq((await say(ANA, "hello")).meta.pipeline, "llm", "auto: the flags decide again");
    });

    await t.step("AI_PIPELINE as a flag: adminOverride on sends everyone to the old pipeline", async () => {
      const on = await admin("/flags/AI_PIPELINE", {
        method: "PATCH",
        body: { adminOverride: "on", reason: "incident" },
      });
      eq(on.status, 200);
      const chats = openai.chats.length;
      for (const p of [ANA, BEN]) eq((await say(p, "hello")).meta.pipeline, "legacy", `legacy for ${p.slice(-2)}`);
      eq(openai.chats.length, chats, "no model call");
      const call = await realtime(openaiRequest(RT_URL, incomingCall("call_sw2"), { secret: WHSEC, id: "wh_sw2" }));
      await call.body?.cancel();
      eq(openai.calls.at(-1)?.action, "reject", "voice rejected");
      eq((await admin("/flags/AI_PIPELINE", { method: "PATCH", body: { adminOverride: null } })).status, 200);
      eq((await say(ANA, "hello")).meta.pipeline, "llm", "off again: the new pipeline serves");
      const v = await realtime(openaiRequest(RT_URL, incomingCall("call_sw3"), { secret: WHSEC, id: "wh_sw3" }));
      await v.body?.cancel();
      eq(openai.calls.at(-1)?.action, "accept", "voice accepted again");
    });
  } finally {
    await shadowIdle();
    setLogSink(prevSink);
    envs.restore();
    resetAgent();
    await openai.close();
    await meta.close();
    await hook.close();
  }
}

onBothBackends("switches: PII leak rollback, AI_PIPELINE", checks);
