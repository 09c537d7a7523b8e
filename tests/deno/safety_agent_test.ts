// The safety loop inside the chat agent's llm pipeline, on PGlite and a real Debian
// Postgres, with the fake OpenAI: the core's CircuitBreaker with an injected clock, directly and
// through the agent (enforce: skipped, legacy serves with fallback CIRCUIT_OPEN; shadow: the call
// still goes out and "breaker would have blocked" is logged); the response cache (a hit returns
// the stored decision without a provider call and counts; invalidation per flag and all, also
// through the ai-cache function); the prompt variant by USE_OPTIMIZED_PROMPTS (the body the fake
// received); a usage row per call; shadow mode (comparison stored, reply unchanged, no tool run).
import "../../supabase/functions/_shared/platform/routed.ts";
import aiCache from "../../supabase/functions/ai-cache/index.ts";
import {
  PIPELINE_FLAG,
  PROMPT_FLAG,
  REPLIES,
  resetAgent,
  runAgent,
} from "../../supabase/functions/_shared/agent/agent.ts";
import { resetBreakers, setBreakerClock } from "../../supabase/functions/_shared/safety/ai_guard.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { logger, setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import {
  cacheInvalidate,
  cachePut,
  cacheStats,
  resetResponseCache,
} from "../../supabase/functions/_shared/safety/response_cache.ts";
import { shadowIdle } from "../../supabase/functions/_shared/safety/shadow.ts";
// A namespace import: a missing export is a failing test, not a module that cannot load.
import * as core from "../../supabase/functions/_shared/platform/trimtab.ts";
import { fakeOpenAI } from "./fakes.ts";
import { assert, call, envScope, eq, logCapture, onBothBackends, req, type Tokens } from "./support.ts";

const OA_KEY = "sk-test-safety-fake-key-0123456789";

const ENF = "+250788300001"; // llm pipeline, breaker enforced
const SHD = "+250788300002"; // llm pipeline, breaker in shadow mode
const CACHE = "+250788300003"; // llm pipeline, response cache on
const OPT = "+250788300004"; // llm pipeline, optimized prompt
const ORIG = "+250788300005"; // llm pipeline, original prompt
const LEG = "+250788300006"; // legacy pipeline (staff: a tool run would succeed)
const HOLDER = "+250788300007";

const { lines, sink: capture } = logCapture();
const envs = envScope();

Deno.test("circuit breaker (core): closed -> open -> half-open trial -> open / closed, injected clock", () => {
  const b = new core.CircuitBreaker({ windowMs: 60_000, minCalls: 4, errorThreshold: 0.5, resetTimeoutMs: 30_000 });
  try {
    let t = 1_000_000;
    eq(b.state(t), "closed", "starts closed");
    for (let i = 0; i < 3; i++) b.record(false, t += 10);
    eq(b.state(t), "closed", "below the minimum volume");
    eq(b.record(false, t += 10), "open", "opens at the minimum volume with 100 % errors");
    eq(b.allow(t + 1).allowed, false, "open: refused");
    eq(b.allow(t + 29_000).allowed, false, "still open before the reset timeout");
    const trial = b.allow(t += 30_000);
    eq([trial.allowed, trial.trial, trial.state], [true, true, "half_open"], "half-open: one trial call");
    eq(b.allow(t + 1).allowed, false, "only one trial at a time");
    eq(b.record(false, t += 5), "open", "a failed trial opens it again");
    const second = b.allow(t += 30_000);
    eq([second.allowed, second.trial], [true, true], "another trial after the timeout");
    eq(b.record(true, t += 5), "closed", "a good trial closes it");
    eq(b.allow(t + 1).allowed, true, "closed: allowed");
  } finally {
    b.free();
  }
});

import type { Json } from "./support.ts";

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const openai = fakeOpenAI(OA_KEY);
  const previousSink = setLogSink(capture);
  envs.set({
    OPENAI_API_BASE: openai.url,
    OPENAI_API_KEY: OA_KEY,
    FEATURE_AGENT_VOUCHERS: "true",
    FEATURE_AGENT_CUSTOMER_LOOKUP: "true",
    AGENT_STAFF_PHONES: LEG,
    AGENT_LLM_TIMEOUT_MS: "2000",
    AGENT_RATE_LIMIT_PER_MIN: "1000",
    AGENT_BREAKER_WINDOW_MS: "60000",
    AGENT_BREAKER_MIN_CALLS: "3",
    AGENT_BREAKER_ERROR_THRESHOLD: "0.5",
    AGENT_BREAKER_RESET_MS: "30000",
    AGENT_SHADOW_SAMPLE: undefined,
    AGENT_PROMPT_TOKEN_BUDGET: undefined,
  });
  let now = 5_000_000;
  setBreakerClock(() => now);
  resetAgent();
  resetResponseCache();
  const ov = (flag: string, unit: string, on: boolean, variant: string | null = null) =>
    db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, variant, reason) values ($1, $2, $3, $4, 'safety test')",
      [flag, unit, on, variant],
    );
  for (const p of [ENF, SHD, CACHE, OPT, ORIG]) await ov(PIPELINE_FLAG, p, true);
  for (const p of [LEG, HOLDER]) await ov(PIPELINE_FLAG, p, false);
  for (const p of [ENF, SHD, CACHE, OPT, ORIG, LEG, HOLDER]) {
    await ov("ENFORCE_CIRCUIT_BREAKER", p, p === ENF);
    await ov("USE_CIRCUIT_BREAKER", p, p === SHD || p === ENF);
    await ov("USE_RESPONSE_CACHE", p, p === CACHE);
    await ov(PROMPT_FLAG, p, p === OPT || p === ORIG, p === OPT ? "optimized" : p === ORIG ? "original" : null);
    await ov("FEATURE_AGENT_VOUCHERS", p, true);
  }
  invalidate();

  const ask = (phone: string, text: string) =>
    runAgent({ phone, text, correlationId: `cid-${crypto.randomUUID()}`, log: logger({ test: "safety" }), db });
  const usage = (cid: string) =>
    db.query<Json>("select * from trimtab.ai_usage_logs where correlation_id = $1 order by id", [cid]);
  const pick = (r: Json) => ({
    pipeline: r.pipeline,
    provider: r.provider,
    status: r.status,
    fallback: r.fallback,
    cached: r.cached,
    shadow: r.shadow,
  });

  try {
    await t.step("usage rows: one per call, legacy and llm", async () => {
      const leg = await ask(LEG, "hello");
      eq([leg.text, leg.pipeline], [REPLIES.greet, "legacy"], "legacy greeting");
      const [l] = await usage(leg.correlationId);
      eq(
        pick(l),
        { pipeline: "old", provider: "legacy", status: "ok", fallback: false, cached: false, shadow: false },
        "legacy row",
      );
      eq([l.model, Number(l.tokens_in), Number(l.tokens_out)], ["parser", 0, 0], "legacy parser, no tokens");
      openai.script.push({ content: "Hi from the model." });
      const llm = await ask(ORIG, "hi there");
      eq([llm.text, llm.pipeline], ["Hi from the model.", "llm"], "llm answer");
      const rows = await usage(llm.correlationId);
      eq(rows.length, 1, "one row");
      eq(pick(rows[0]), {
        pipeline: "new",
        provider: "openai",
        status: "ok",
        fallback: false,
        cached: false,
        shadow: false,
      }, "llm row");
      eq([Number(rows[0].tokens_in), Number(rows[0].tokens_out)], [50, 10], "tokens from the answer's usage");
      assert(Number(rows[0].cost_usd) > 0, `priced: ${rows[0].cost_usd}`);
      openai.script.push({ status: 500 });
      const fb = await ask(ORIG, "hello");
      eq([fb.text, fb.fallback], [REPLIES.greet, "OPENAI_HTTP_ERROR"], "fallback");
      const both = (await usage(fb.correlationId)).map(pick);
      eq(both, [
        { pipeline: "new", provider: "openai", status: "error", fallback: false, cached: false, shadow: false },
        { pipeline: "old", provider: "legacy", status: "ok", fallback: true, cached: false, shadow: false },
      ], "failed llm call, then the legacy fallback");
      resetBreakers();
    });

    await t.step("prompt variant: USE_OPTIMIZED_PROMPTS decides the body sent", async () => {
      openai.script.push({ content: "plain" });
      await ask(ORIG, "what can you do");
      const orig = openai.chats.at(-1);
      assert(orig.response_format === undefined, "original: no response_format");
      eq(orig.messages[0].role, "system", "system first");
      eq(orig.messages.at(-1), { role: "user", content: "what can you do" }, "user message");
      openai.script.push({ content: JSON.stringify({ reply: "I can help with vouchers." }) });
      const r = await ask(OPT, "what can you do");
      const opt = openai.chats.at(-1);
      assert(
        opt.response_format?.type === "json_schema",
        `optimized: structured outputs: ${JSON.stringify(opt.response_format)}`,
      );
      assert(JSON.stringify(opt.messages) !== JSON.stringify(orig.messages), "different prompt text");
      eq(opt.messages.at(-1), { role: "user", content: "what can you do" }, "same user message");
      eq(
        (opt.tools ?? []).map((x: Json) => x.function?.name),
        ["lookup_customer", "create_voucher", "redeem_voucher", "void_voucher"],
        "tools offered",
      );
      eq(r.text, "I can help with vouchers.", "the structured reply is unwrapped");
      const [row] = await usage(r.correlationId);
      eq(row.prompt_variant, "optimized", "variant recorded");
      assert(!JSON.stringify(opt).includes(OPT.slice(1)), "no phone number sent to the model");
    });

    await t.step("response cache: a hit returns the stored decision without a provider call", async () => {
      const before = cacheStats();
      openai.script.push({ toolCall: { name: "lookup_customer", arguments: { phone: "me" } } });
      const first = await ask(CACHE, "show my vouchers please");
      eq([first.pipeline, first.cached, first.tools], ["llm", undefined, ["lookup_customer"]], "first: from the model");
      const chats = openai.chats.length;
      const second = await ask(CACHE, "show my vouchers please");
      eq(openai.chats.length, chats, "no provider call");
      eq(
        [second.text, second.pipeline, second.cached, second.tools],
        [first.text, "llm", true, ["lookup_customer"]],
        "same answer",
      );
      const after = cacheStats();
      eq(after.hits, before.hits + 1, "a hit counted");
      eq(after.misses, before.misses + 1, "the first was a miss");
      assert(after.hitRate > 0, "hit rate");
      eq(pick((await usage(second.correlationId))[0]), {
        pipeline: "new",
        provider: "openai",
        status: "ok",
        fallback: false,
        cached: true,
        shadow: false,
      }, "usage row of the hit");
      resetResponseCache(); // a new isolate: the front is empty, the table answers
      const third = await ask(CACHE, "show my vouchers please");
      eq([openai.chats.length, third.cached], [chats, true], "read through the table");
      eq(cacheStats().tableHits, 1, "a table hit");
      const [row] = await db.query<Json>("select flag_key, hits from trimtab.response_cache");
      eq([row.flag_key, Number(row.hits) >= 2], [PIPELINE_FLAG, true], "the row counts its hits");
      assert(
        !JSON.stringify(await db.query("select * from trimtab.response_cache")).includes(CACHE.slice(1)),
        "no phone in the cache",
      );
    });

    await t.step("response cache: invalidation per flag and all (also through ai-cache)", async () => {
      await cachePut(db, "k-other", "OTHER_FLAG", { x: 1 }, 0);
      eq(await cacheInvalidate(db, { flag: PIPELINE_FLAG }), 1, "the pipeline's entry removed");
      eq(
        (await db.query<Json>("select key from trimtab.response_cache")).map((r) => r.key),
        ["k-other"],
        "the other flag's stays",
      );
      const chats = openai.chats.length;
      openai.script.push({ toolCall: { name: "lookup_customer", arguments: { phone: "me" } } });
      const r = await ask(CACHE, "show my vouchers please");
      eq([openai.chats.length, r.cached], [chats + 1, undefined], "after invalidation the model is asked again");

      const stats = await call(aiCache, req("/ai-cache", { token: tk.admin }));
      eq(stats.status, 200, "stats");
      assert(
        stats.body.isolate.hits >= 1 && typeof stats.body.isolate.hitRate === "number",
        JSON.stringify(stats.body),
      );
      eq(stats.body.table.rows, 2, "table rows");
      const u = stats.body.usage;
      assert(
        u.cached >= 2 && u.calls > u.cached && u.hitRate > 0 && u.hitRate < 1,
        `usage hit rate: ${JSON.stringify(u)}`,
      );
      eq((await call(aiCache, req("/ai-cache?window=abc", { token: tk.admin }))).status, 400, "bad window");
      eq((await call(aiCache, req("/ai-cache", { token: await tk.user("u1") }))).status, 403, "users refused");
      eq((await call(aiCache, req("/ai-cache", { token: null }))).status, 401, "no token refused");
      eq((await call(aiCache, req("/ai-cache", { token: tk.admin, method: "DELETE" }))).status, 400, "scope required");
      const one = await call(aiCache, req("/ai-cache?flag=OTHER_FLAG", { token: tk.service, method: "DELETE" }));
      eq([one.status, one.body.removed], [200, 1], "per flag");
      const all = await call(aiCache, req("/ai-cache?all=1", { token: tk.admin, method: "DELETE" }));
      eq([all.status, all.body.removed], [200, 1], "all");
      eq((await db.query("select 1 from trimtab.response_cache")).length, 0, "empty");
      eq(cacheStats().entries, 0, "front empty");
    });

    await t.step("circuit breaker through the agent: enforce skips the model, shadow only logs", async () => {
      resetBreakers();
      for (let i = 0; i < 3; i++) {
        openai.script.push({ status: 500 });
        const r = await ask(ENF, "hello");
        eq(r.fallback, "OPENAI_HTTP_ERROR", `failure ${i + 1}`);
        now += 100;
      }
      let chats = openai.chats.length;
      lines.length = 0;
      const blocked = await ask(ENF, "hello");
      eq(openai.chats.length, chats, "enforced: no provider call");
      eq(
        [blocked.text, blocked.pipeline, blocked.fallback],
        [REPLIES.greet, "legacy", "CIRCUIT_OPEN"],
        "legacy, fallback recorded",
      );
      eq((await usage(blocked.correlationId)).map((r) => [r.pipeline, r.fallback, r.error_code]), [[
        "old",
        true,
        "CIRCUIT_OPEN",
      ]], "usage row");
      assert(lines.some((l) => l.includes("circuit breaker open")), "logged");

      now += 30_000; // half-open: one trial call
      openai.script.push({ content: "Back again." });
      const trial = await ask(ENF, "hello");
      eq([trial.text, trial.pipeline], ["Back again.", "llm"], "the trial call went out and closed it");
      openai.script.push({ content: "Still fine." });
      eq((await ask(ENF, "hello")).text, "Still fine.", "closed again");

      for (let i = 0; i < 3; i++) {
        openai.script.push({ status: 500 });
        await ask(SHD, "hello"); // shadow mode: these go out whatever the state
        now += 100;
      }
      chats = openai.chats.length;
      lines.length = 0;
      openai.script.push({ content: "Shadow mode calls anyway." });
      const shadowed = await ask(SHD, "hello");
      eq(openai.chats.length, chats + 1, "shadow mode: the call went out");
      eq([shadowed.text, shadowed.pipeline], ["Shadow mode calls anyway.", "llm"], "served by the model");
      assert(lines.some((l) => l.includes('"msg":"breaker would have blocked"')), "would-have-blocked logged");
      resetBreakers();
    });

    await t.step("shadow mode: comparison stored, reply unchanged, no tool executed", async () => {
      envs.set({ AGENT_SHADOW_SAMPLE: "1" });
      if ((await db.query("select 1 from trimtab.feature_flags where key = 'SHADOW_NEW_PIPELINE'")).length) {
        await ov("SHADOW_NEW_PIPELINE", LEG, true);
        invalidate();
      }
      openai.script.push({
        toolCall: { name: "create_voucher", arguments: { amount: 777, currency: "RWF", phone: HOLDER } },
      });
      const chats = openai.chats.length;
      const r = await ask(LEG, "hello");
      eq([r.text, r.pipeline, r.fallback], [REPLIES.greet, "legacy", undefined], "the legacy reply");
      await shadowIdle();
      eq(openai.chats.length, chats + 1, "the shadow asked the model");
      const [cmp] = await db.query<Json>("select * from trimtab.shadow_comparisons where correlation_id = $1", [
        r.correlationId,
      ]);
      assert(cmp, "comparison stored");
      const details = typeof cmp.details === "string" ? JSON.parse(cmp.details) : cmp.details;
      eq([details.oldTools, details.newTools], [["greet"], ["create_voucher"]], "tools compared");
      assert(Number(cmp.similarity) < 0.5, `different choices: ${cmp.similarity}`);
      assert(cmp.new_error === null, "no error");
      assert(!JSON.stringify(cmp).includes(HOLDER.slice(1)), "no phone number stored");
      const vouchers = await db.query(
        "select 1 from trimtab.vouchers v join trimtab.customers p on p.id = v.customer_id where p.phone = $1",
        [HOLDER],
      ).catch(() => []);
      eq(vouchers.length, 0, "the shadow created no voucher");
      const rows = (await usage(r.correlationId)).map(pick);
      eq(rows, [
        { pipeline: "old", provider: "legacy", status: "ok", fallback: false, cached: false, shadow: false },
        { pipeline: "new", provider: "openai", status: "ok", fallback: false, cached: false, shadow: true },
      ], "usage rows: served legacy, shadow new");

      openai.script.push({ toolCall: { name: "redeem_voucher", arguments: { code: "TT-AAAA-BBBB-C" } } });
      const same = await ask(LEG, "redeem TT-AAAA-BBBB-C");
      await shadowIdle();
      const [c2] = await db.query<Json>("select similarity from trimtab.shadow_comparisons where correlation_id = $1", [
        same.correlationId,
      ]);
      assert(Number(c2.similarity) > Number(cmp.similarity), `the same choice scores higher: ${c2.similarity}`);

      openai.script.push({ status: 500 });
      const failing = await ask(LEG, "help");
      await shadowIdle();
      eq(failing.text, REPLIES.help, "a failing shadow changes nothing");
      const [c3] = await db.query<Json>("select new_error from trimtab.shadow_comparisons where correlation_id = $1", [
        failing.correlationId,
      ]);
      eq(c3.new_error, "OPENAI_HTTP_ERROR", "the shadow's error stored");
      envs.set({ AGENT_SHADOW_SAMPLE: undefined });
    });
  } finally {
    await shadowIdle();
    setBreakerClock(null);
    resetBreakers();
    setLogSink(previousSink);
    envs.restore();
    await openai.close();
  }
}

onBothBackends("safety loop in the agent", checks);
