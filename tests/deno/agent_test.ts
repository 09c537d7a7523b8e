// The chat agent behind ai-whatsapp-webhook, end to end (signed delivery in, Cloud API call out) on
// PGlite and a real Debian Postgres, with fakes of OpenAI and Meta: the legacy command parser; the
// llm pipeline picking tools for customers in the phoenix_pipeline_enabled rollout; the fallback to
// legacy when the model answers 500, hangs past AGENT_LLM_TIMEOUT_MS or calls an unknown tool
// (logged with the correlation id and carried in the reply metadata); legacy without an API key;
// staff-only tools; the per-customer rate limit (the 11th message in a minute is refused politely
// and never reaches the model).
import "../../supabase/functions/_shared/platform/routed.ts";
import whatsapp from "../../supabase/functions/ai-whatsapp-webhook/index.ts";
import { LLM_TOOLS, parseCommand, REPLIES, resetAgent } from "../../supabase/functions/_shared/agent/agent.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { resetDedupWindow } from "../../supabase/functions/_shared/agent/dedup.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { parseChat } from "../../supabase/functions/_shared/safety/openai.ts";
import { fakeMeta, fakeOpenAI, waPayload, waRequest } from "./fakes.ts";
import { assert, assertNoPhones, envScope, eq, logCapture, onBothBackends } from "./support.ts";

const APP_SECRET = "wa-app-secret-for-agent-tests-0123";
const WA_TOKEN = "EAAGagenttesttoken0123456789";
const OA_KEY = "sk-test-agent-fake-key-0123456789";
const URL_ = "http://127.0.0.1/ai-whatsapp-webhook";

// Digits as WhatsApp sends them. LLM_* are in the phoenix rollout (overrides), LEGACY_* out of it.
const STAFF = "250788200001"; // staff, llm pipeline
const LLM_A = "250788200002";
const LLM_B = "250788200003";
const LEGACY_A = "250788200004";
const HOLDER = "250788200005"; // gets vouchers; legacy
const PHONES = [STAFF, LLM_A, LLM_B, LEGACY_A, HOLDER];

// `lines` is reset by steps that look for one line; `everything` never is (the PII check reads it).
const { lines, everything, sink: capture } = logCapture();

/** Environment changes of this file, undone by restoreEnv() (other suites share the process). */
const envs = envScope();
const setEnv = envs.set;
const restoreEnv = envs.restore;

let seq = 0;
const wamid = () => `wamid.AGENT${Date.now()}${++seq}`;

Deno.test("legacy parser: commands to tool calls", () => {
  eq(parseCommand("Hello!"), [{ name: "greet", args: {} }], "greeting");
  eq(parseCommand("  HELP "), [{ name: "help", args: {} }], "help");
  eq(parseCommand("lookup +250788000000"), [{ name: "lookup_customer", args: { phone: "+250788000000" } }], "lookup");
  eq(parseCommand("lookup"), [{ name: "lookup_customer", args: { phone: "me" } }], "lookup self");
  eq(parseCommand("create voucher 10000 for +250788000000"), [{
    name: "create_voucher",
    args: { amount: 10000, currency: null, phone: "+250788000000" },
  }], "create");
  eq(parseCommand("create voucher 10,000 usd for +250 788 000 000")[0].args, {
    amount: 10000,
    currency: "USD",
    phone: "+250 788 000 000",
  }, "create with currency and grouping");
  eq(parseCommand("redeem TT-85H3-K6R6-K"), [{ name: "redeem_voucher", args: { code: "TT-85H3-K6R6-K" } }], "redeem");
  eq(parseCommand("void TT-85H3-K6R6-K because duplicate"), [{
    name: "void_voucher",
    args: { code: "TT-85H3-K6R6-K", reason: "duplicate" },
  }], "void with reason");
  eq(parseCommand("what's the weather?"), [{ name: "help", args: { unknown: true } }], "unknown");
  eq(parseCommand("create voucher ten for +250788000000")[0].args, { unknown: true }, "no amount: not a create");
});

Deno.test("openai: tool calls are parsed; malformed answers are coded errors", () => {
  const ok = parseChat({
    choices: [{
      message: {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "redeem_voucher", arguments: '{"code":"X"}' },
        }],
      },
      finish_reason: "tool_calls",
    }],
  });
  eq(ok.toolCalls, [{ id: "call_1", name: "redeem_voucher", args: { code: "X" } }], "tool call");
  for (
    const bad of [{}, { choices: [] }, {
      choices: [{ message: { tool_calls: [{ type: "function", function: { name: "x", arguments: "{" } }] } }],
    }]
  ) {
    let code = "";
    try {
      parseChat(bad);
    } catch (e) {
      code = (e as { code: string }).code;
    }
    eq(code, "OPENAI_BAD_RESPONSE", JSON.stringify(bad));
  }
  eq(LLM_TOOLS.map((t) => t.name), ["lookup_customer", "create_voucher", "redeem_voucher", "void_voucher"], "tools");
});

async function checks(t: Deno.TestContext, db: Db) {
  const meta = fakeMeta(WA_TOKEN);
  const openai = fakeOpenAI(OA_KEY);
  const previousSink = setLogSink(capture);
  setEnv({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    OPENAI_API_BASE: openai.url,
    OPENAI_API_KEY: OA_KEY,
    FEATURE_AGENT_CHAT: "true",
    FEATURE_AGENT_VOUCHERS: "true",
    FEATURE_AGENT_CUSTOMER_LOOKUP: "true",
    AGENT_STAFF_PHONES: `+${STAFF}`,
    // The default timeout: a loaded machine must not turn a model's answer into a timeout. The
    // hang step below shortens it for itself (a hung call times out whatever the load).
    AGENT_LLM_TIMEOUT_MS: undefined,
    AGENT_RATE_LIMIT_PER_MIN: undefined,
  });
  resetAgent();
  resetDedupWindow();
  // Pin every test customer in or out of the rollout, and their tools on.
  const ov = (flag: string, phone: string, on: boolean) =>
    db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ($1, $2, $3, 'agent test')",
      [
        flag,
        `+${phone}`,
        on,
      ],
    );
  for (const p of [STAFF, LLM_A, LLM_B]) await ov("phoenix_pipeline_enabled", p, true);
  for (const p of [LEGACY_A, HOLDER]) await ov("phoenix_pipeline_enabled", p, false);
  for (const p of PHONES) {
    await ov("FEATURE_AGENT_VOUCHERS", p, true);
    await ov("FEATURE_AGENT_CUSTOMER_LOOKUP", p, true);
  }
  await db.query(
    "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('FEATURE_AGENT_VOUCHERS', 'global', true, 'agent test')",
  );
  invalidate();

  const say = async (from: string, text: string, cid = `cid-${crypto.randomUUID()}`) => {
    const n = meta.sent.length;
    const res = await whatsapp(waRequest(URL_, waPayload([{ messages: [{ id: wamid(), from, text }] }]), {
      secret: APP_SECRET,
      headers: { "x-correlation-id": cid },
    }));
    eq(res.status, 200, "webhook answer");
    await res.body?.cancel();
    const out = meta.sent.slice(n);
    eq(out.length, 1, `one reply to "${text}"`);
    eq(out[0].body.to, from, "to the sender");
    return { text: out[0].body.text.body as string, meta: JSON.parse(out[0].body.biz_opaque_callback_data), cid };
  };
  const voucherRows = (phone: string) =>
    db.query<{ code: string; status: string; amount_minor: unknown }>(
      "select v.code, v.status, v.amount_minor from trimtab.vouchers v join trimtab.customers p on p.id = v.customer_id where p.phone = $1 order by v.created_at",
      [`+${phone}`],
    );

  try {
    let code = "";

    await t.step("llm pipeline: the model picks create_voucher for staff; it runs here", async () => {
      openai.script.push({
        toolCall: { name: "create_voucher", arguments: { amount: 5000, currency: "RWF", phone: `+${HOLDER}` } },
      });
      const chats0 = openai.chats.length;
      const r = await say(STAFF, "please give the customer a 5000 franc voucher");
      eq(openai.chats.length, chats0 + 1, "one completion request");
      const sent = openai.chats.at(-1);
      eq(
        sent.tools.map((x: { function: { name: string } }) => x.function.name),
        LLM_TOOLS.map((x) => x.name),
        "tools offered",
      );
      eq(
        sent.tools.every((x: { type: string; function: { strict: boolean } }) =>
          x.type === "function" && x.function.strict
        ),
        true,
        "strict function tools",
      );
      eq(
        sent.messages.at(-1),
        { role: "user", content: "please give the customer a 5000 franc voucher" },
        "user message",
      );
      assert(!JSON.stringify(sent).includes(STAFF), "the sender's number is not sent to the model");
      eq([r.meta.pipeline, r.meta.fallback], ["llm", undefined], "served by the llm pipeline");
      const rows = await voucherRows(HOLDER);
      eq(rows.map((v) => [v.status, Number(v.amount_minor)]), [["issued", 5000]], "voucher issued to the holder");
      code = rows[0].code;
      assert(r.text.includes(code) && r.text.includes("5,000 RWF"), `reply names the voucher: ${r.text}`);
    });

    await t.step(
      "legacy pipeline (out of the rollout): lookup and redeem; events carry the correlation id",
      async () => {
        const chats0 = openai.chats.length;
        const look = await say(HOLDER, "lookup");
        assert(look.text.includes(code) && look.text.includes("issued"), `own vouchers listed: ${look.text}`);
        const other = await say(HOLDER, `lookup +${STAFF}`);
        eq(other.text, REPLIES.staffOnly, "customers cannot look up others");
        const r = await say(HOLDER, `redeem ${code.toLowerCase()}`);
        eq(r.meta.pipeline, "legacy", "legacy");
        assert(r.text.includes("redeemed") && r.text.includes(code), `redeemed: ${r.text}`);
        eq((await voucherRows(HOLDER))[0].status, "redeemed", "state in the database");
        const [ev] = await db.query<{ correlation_id: string; actor: string }>(
          "select e.correlation_id, e.actor from trimtab.voucher_events e join trimtab.vouchers v on v.id = e.voucher_id where v.code = $1 and e.to_status = 'redeemed'",
          [code],
        );
        eq(ev?.correlation_id, r.cid, "voucher_events row has the request's correlation id");
        const again = await say(HOLDER, `redeem ${code}`);
        assert(/already been redeemed or voided/.test(again.text), `second redeem refused kindly: ${again.text}`);
        const typo = await say(HOLDER, `redeem ${code.slice(0, -1)}${code.endsWith("0") ? "1" : "0"}`);
        assert(/typo/.test(typo.text), `mistyped code: ${typo.text}`);
        eq(openai.chats.length, chats0, "legacy customers never reach the model");
      },
    );

    await t.step("staff-only tools are refused to customers, whichever pipeline", async () => {
      const r = await say(LEGACY_A, `create voucher 100 for +${LEGACY_A}`);
      eq(r.text, REPLIES.staffOnly, "create refused");
      openai.script.push({ toolCall: { name: "void_voucher", arguments: { code, reason: null } } });
      const v = await say(LLM_A, "void that voucher");
      eq([v.text, v.meta.pipeline], [REPLIES.staffOnly, "llm"], "void refused on the llm path too");
      eq((await voucherRows(LEGACY_A)).length, 0, "nothing created");
    });

    await t.step("fallback: the model answers 500 -> legacy reply, logged with the correlation id", async () => {
      openai.script.push({ status: 500 });
      lines.length = 0;
      const chats0 = openai.chats.length;
      const r = await say(LLM_A, "hello");
      eq(openai.chats.length, chats0 + 1, "the model was asked");
      eq(r.text, REPLIES.greet, "legacy greeting");
      eq([r.meta.pipeline, r.meta.fallback, r.meta.cid], ["legacy", "OPENAI_HTTP_ERROR", r.cid], "reply metadata");
      const line = lines.find((l) => l.includes('"msg":"agent fallback to legacy"') && l.includes(r.cid));
      assert(
        line && line.includes(`"correlationId":"${r.cid}"`) && line.includes('"reason":"OPENAI_HTTP_ERROR"'),
        `fallback logged: ${line}`,
      );
    });

    await t.step("fallback: the model hangs past AGENT_LLM_TIMEOUT_MS -> legacy reply", async () => {
      openai.script.push({ hang: true });
      lines.length = 0;
      setEnv({ AGENT_LLM_TIMEOUT_MS: "400" });
      let r;
      try {
        r = await say(LLM_B, "help");
      } finally {
        setEnv({ AGENT_LLM_TIMEOUT_MS: undefined });
      }
      eq(r.text, REPLIES.help, "legacy help");
      // The fake never answers a hung call: only the timeout can have ended it.
      eq([r.meta.pipeline, r.meta.fallback], ["legacy", "OPENAI_TIMEOUT"], "timeout recorded");
      assert(lines.some((l) => l.includes('"msg":"agent fallback to legacy"') && l.includes(r.cid)), "fallback logged");
    });

    await t.step("fallback: a tool the agent does not have -> legacy", async () => {
      openai.script.push({ toolCall: { name: "drop_tables", arguments: {} } });
      const r = await say(LLM_B, "hello");
      eq([r.text, r.meta.fallback], [REPLIES.greet, "AGENT_LLM_UNKNOWN_TOOL"], "refused tool");
    });

    await t.step("a plain answer from the model is sent as it is", async () => {
      openai.script.push({ content: "Hi! How can I help with your vouchers?" });
      const r = await say(LLM_A, "hey there, what can you do");
      eq([r.text, r.meta.pipeline], ["Hi! How can I help with your vouchers?", "llm"], "model text");
    });

    await t.step("no OPENAI_API_KEY: legacy serves customers in the rollout", async () => {
      setEnv({ OPENAI_API_KEY: undefined });
      const chats0 = openai.chats.length;
      lines.length = 0;
      const r = await say(LLM_A, "hello");
      setEnv({ OPENAI_API_KEY: OA_KEY });
      eq([r.text, r.meta.pipeline, r.meta.fallback], [REPLIES.greet, "legacy", undefined], "legacy, not a fallback");
      eq(openai.chats.length, chats0, "no request to the model");
      assert(lines.some((l) => l.includes('"msg":"agent reply"') && l.includes('"why":"no_api_key"')), "why logged");
    });

    await t.step("rate limit: the 11th message in a minute is refused politely, without the model", async () => {
      resetAgent();
      const chats0 = openai.chats.length;
      openai.fallback = { content: "Sure!" };
      const replies: string[] = [];
      for (let i = 0; i < 11; i++) replies.push((await say(LLM_B, `message ${i}`)).text);
      eq(replies.slice(0, 10), Array(10).fill("Sure!"), "ten answered by the model");
      eq(replies[10], REPLIES.rateLimited, "the eleventh refused");
      eq(openai.chats.length, chats0 + 10, "the eleventh never reached the model");
      eq((await say(LEGACY_A, "hello")).text, REPLIES.greet, "other customers are not limited");
    });

    await t.step("no phone number in any log line", () => assertNoPhones(everything, PHONES));
  } finally {
    setLogSink(previousSink);
    restoreEnv();
    await meta.close();
    await openai.close();
  }
}

onBothBackends("agent", async (t, db) => await checks(t, db));
