// Several isolates, one database: two local edge stacks (separate Deno processes, so separate
// per-isolate caches) share a real Debian Postgres. A change made through one stack's admin API
// (an emergency rollback of every flag, then its undo) is served by the other within 2 seconds,
// for every user at once. And a rollback finishes the job: the new pipeline's answer cached by both
// stacks (the table, and the other stack's in-memory front, trusted for ten minutes here) is never
// served again by either after the flag is rolled back and turned on again: the model is asked.
import { openDb } from "../../scripts/dev/db.ts";
import { LOCAL_ISSUER, localKeys, userToken } from "../../scripts/dev/keys.ts";
import { bucket } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { fakeMeta, fakeOpenAI, waPayload, waRequest } from "./fakes.ts";
import { assert, eq, eventually, KEYS_DIR, type Stack, startPg, startStack, stopStack } from "./support.ts";

import type { Json } from "./support.ts";

Deno.test({
  name: "isolates: an admin change through one stack is served by another within 2 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPg();
    const stacks: Stack[] = [];
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 1 });
      await db.close();
      stacks.push(await startStack(pg.url), await startStack(pg.url));
      const [a, b] = stacks;
      const keys = await localKeys(KEYS_DIR);
      const admin = await userToken(keys, "admin-iso", { admin: true, issuer: LOCAL_ISSUER });
      const users = await Promise.all(["u-1", "u-2", "u-3"].map((u) => userToken(keys, u, { issuer: LOCAL_ISSUER })));
      const reasonsOn = async (s: Stack) =>
        await Promise.all(users.map(async (t) => {
          const r = await fetch(`${s.url}/functions/v1/flags?flags=FEATURE_AGENT_CHAT`, {
            headers: { authorization: `Bearer ${t}` },
          });
          const body = await r.json();
          return body.flags.FEATURE_AGENT_CHAT.reason as string;
        }));
      eq(await reasonsOn(b), ["ROLLOUT", "ROLLOUT", "ROLLOUT"], "before");

      const rb = await fetch(`${a.url}/functions/v1/flags-admin/rollback`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ all: true, reason: "isolate test" }),
      });
      eq(rb.status, 200, `rollback: ${await rb.text()}`);
      const t0 = Date.now();
      const off = await eventually(async () => (await reasonsOn(b)).every((r) => r === "ADMIN_OVERRIDE"), 2000, 20);
      assert(off, `the other isolate still served the old snapshot after ${Date.now() - t0} ms`);
      eq(await reasonsOn(a), ["ADMIN_OVERRIDE", "ADMIN_OVERRIDE", "ADMIN_OVERRIDE"], "the changing isolate at once");

      const undo = await fetch(`${a.url}/functions/v1/flags-admin/flags/FEATURE_AGENT_CHAT`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ adminOverride: null, reason: "isolate test over" }),
      });
      eq(undo.status, 200, `undo: ${await undo.text()}`);
      const on = await eventually(async () => (await reasonsOn(b)).every((r) => r === "ROLLOUT"), 2000, 20);
      assert(on, "the undo reached the other isolate within 2 s");
    } finally {
      await Promise.all(stacks.map(stopStack));
      await pg.stop();
    }
  },
});

Deno.test({
  name: "isolates: a rollback leaves no cached answer of the new pipeline in any process",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const APP_SECRET = "wa-app-secret-isolates-0123456789";
    const WA_TOKEN = "EAAGisolatestoken0123456789";
    const OA_KEY = "sk-test-isolates-fake-key-0123456789";
    // a customer inside the demo's 5 % ramp of the new pipeline (no override: a rollback must reach it)
    let PHONE = "";
    for (let i = 0; !PHONE; i++) {
      const digits = `25078870${String(i).padStart(4, "0")}`;
      if (bucket("phoenix_pipeline_enabled", `+${digits}`) < 50_000) PHONE = digits;
    }
    const pg = await startPg();
    const meta = fakeMeta(WA_TOKEN);
    const openai = fakeOpenAI(OA_KEY);
    const stacks: Stack[] = [];
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 2 });
      // the customer: the response cache and the original prompt
      await db.tx(async (tx) => {
        await tx.audit({ actor: "test", action: "override.set", reason: "isolates cache test" });
        await tx.query(
          `insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason)
           values ('USE_RESPONSE_CACHE', $1, true, 'test')`,
          [`+${PHONE}`],
        );
        await tx.query(
          `insert into trimtab.user_feature_overrides (flag_key, unit, enabled, variant, reason)
           values ('USE_OPTIMIZED_PROMPTS', $1, true, 'original', 'test')`,
          [`+${PHONE}`],
        );
      });
      const env = {
        WHATSAPP_APP_SECRET: APP_SECRET,
        WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
        WHATSAPP_API_BASE: meta.url,
        OPENAI_API_BASE: openai.url,
        OPENAI_API_KEY: OA_KEY,
        FEATURE_AGENT_CHAT: "true",
        AGENT_SHADOW_SAMPLE: "0",
        AGENT_RATE_LIMIT_PER_MIN: "1000",
        AGENT_CACHE_FRONT_TTL_MS: "600000",
        TRIMTAB_GUARD_INTERVAL_MS: "0",
      };
      stacks.push(...await Promise.all([startStack(pg.url, env), startStack(pg.url, env)]));
      const [a, b] = stacks;
      let seq = 0;
      const say = async (s: Stack) => {
        const n = meta.sent.length;
        const r = await fetch(
          waRequest(
            `${s.url}/functions/v1/ai-whatsapp-webhook`,
            waPayload([{ messages: [{ id: `wamid.ISO${Date.now()}${++seq}`, from: PHONE, text: "what is new?" }] }]),
            { secret: APP_SECRET },
          ),
        );
        eq(r.status, 200);
        await r.body?.cancel();
        eq(meta.sent.length, n + 1, "one reply");
        const out = meta.sent[n].body;
        return { text: out.text.body as string, meta: JSON.parse(out.biz_opaque_callback_data) };
      };
      const keys = await localKeys(KEYS_DIR);
      const admin = await userToken(keys, "admin-iso", { admin: true, issuer: LOCAL_ISSUER });
      const adminCall = (method: string, path: string, body: unknown) =>
        fetch(`${a.url}/functions/v1/flags-admin${path}`, {
          method,
          headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));

      openai.fallback = { content: "Answer from the new pipeline, version 1." };
      eq((await say(a)).text, "Answer from the new pipeline, version 1.", "A asks the model");
      eq(openai.chats.length, 1);
      const fromTable = await say(b);
      eq([fromTable.text, fromTable.meta.cached], ["Answer from the new pipeline, version 1.", true], "B: cached");
      const fromFront = await say(b);
      eq([fromFront.text, fromFront.meta.cached], ["Answer from the new pipeline, version 1.", true], "B: its front");
      eq((await say(a)).text, "Answer from the new pipeline, version 1.", "A again");
      eq(openai.chats.length, 1, "the cache answered three times");
      const [row] = await db.query<Json>("select count(*) as n from trimtab.response_cache");
      eq(Number(row.n), 1, "one cached answer");

      openai.fallback = { content: "Answer from the new pipeline, version 2." };
      const rb = await adminCall("POST", "/rollback", { flag: "phoenix_pipeline_enabled", reason: "bad answers" });
      eq(rb.status, 200, "rolled back through A");
      const [after] = await db.query<Json>(
        "select (select count(*) from trimtab.response_cache) as n, (select epoch from trimtab.response_cache_epochs where flag_key = 'phoenix_pipeline_enabled') as epoch",
      );
      eq([Number(after.n), Number(after.epoch)], [0, 1], "the rows gone, the epoch moved");
      // B sees the rollback within its config TTL (1 s): the legacy parser answers.
      assert(await eventually(async () => (await say(b)).meta.pipeline === "legacy", 5_000, 100), "B rolled back");
      const undo = await adminCall("PATCH", "/flags/phoenix_pipeline_enabled", {
        adminOverride: null,
        reason: "fixed",
      });
      eq(undo.status, 200, "on again");
      // B serves the new pipeline again once it sees the new configuration (within its 1 s TTL).
      let last = { text: "", meta: {} as Json };
      assert(
        await eventually(async () => (last = await say(b)).meta.pipeline === "llm", 5_000, 100),
        "B back on the new pipeline",
      );
      eq(last.text, "Answer from the new pipeline, version 2.", "B asked the model: nothing cached survived");
      eq(last.meta.cached, undefined, "not from the cache");
      eq((await say(a)).text, "Answer from the new pipeline, version 2.", "A: the new answer, cached afresh");
      eq(openai.chats.length, 2, "one model call after the rollback");
      await db.close();
    } finally {
      await Promise.all(stacks.map(stopStack));
      await meta.close();
      await openai.close();
      await pg.stop();
    }
  },
});
