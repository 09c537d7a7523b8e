// ai-whatsapp-webhook and ai-realtime-webhook, in-process against PGlite and a real Debian Postgres,
// with local fakes of Meta's Graph API and OpenAI: the GET handshake; signed deliveries accepted;
// refused signatures (wrong secret, tampered body, missing or malformed header, stale timestamp)
// answered 401 with nothing processed; duplicates (sequential, concurrent, inside one batch, and
// past the in-isolate window) processed once; the feature switch; 200 once recorded even when
// processing fails (retried by the retry job), 503 when the database cannot record the events
// (Meta delivers again); EdgeRuntime.waitUntil; realtime calls accepted
// or rejected; no phone number in any log line. Then two local stacks (separate processes) sharing
// one Postgres: one delivery sent to both, concurrently, is answered once.
import "../../supabase/functions/_shared/platform/routed.ts";
import whatsapp from "../../supabase/functions/ai-whatsapp-webhook/index.ts";
import realtime from "../../supabase/functions/ai-realtime-webhook/index.ts";
import { REPLIES } from "../../supabase/functions/_shared/agent/agent.ts";
import { whatsappEvents } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { openDb } from "../../scripts/dev/db.ts";
import { purgeWebhookEvents, resetDedupWindow } from "../../supabase/functions/_shared/agent/dedup.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { fakeMeta, fakeOpenAI, incomingCall, openaiRequest, waPayload, waRequest } from "./fakes.ts";
import {
  assert,
  assertNoPhones,
  envScope,
  eq,
  logCapture,
  onBothBackends,
  type Stack,
  startPg,
  startStack,
  stopStack,
  type Tokens,
} from "./support.ts";

const APP_SECRET = "wa-app-secret-for-tests-0123456789";
const VERIFY_TOKEN = "verify-token-for-tests";
const WA_TOKEN = "EAAGtesttoken0123456789";
const OA_KEY = "sk-test-fake-openai-key-0123456789";
const WHSEC = "whsec_" + btoa("0123456789abcdef0123456789abcdef");
const WA_URL = "http://127.0.0.1/ai-whatsapp-webhook";
const RT_URL = "http://127.0.0.1/ai-realtime-webhook";

/** Every phone number the tests use (digits): none may appear in a log line. */
const PHONES = ["250788100001", "250788100002", "250788100003", "250788100004", "14155550123", "14155550999"];
const [ANA, BEN, CAT, DAN] = PHONES;

// `lines` is reset by steps that look for one line; `everything` never is (the PII check reads it).
const { lines, everything, sink: capture } = logCapture();

/** Environment changes of this file, undone by restoreEnv() (other suites share the process). */
const envs = envScope();
const setEnv = envs.set;
const restoreEnv = envs.restore;

const count = async (db: Db, sql: string, params: unknown[] = []) =>
  Number((await db.query<{ n: unknown }>(sql, params as string[]))[0].n);
const events = (db: Db) => count(db, "select count(*) as n from trimtab.webhook_events");

let wamidSeq = 0;
const wamid = () => `wamid.HBgLTEST${Date.now()}${++wamidSeq}AA==`;

async function post(req: Request) {
  const res = await whatsapp(req);
  return { status: res.status, cid: res.headers.get("x-correlation-id"), body: await res.json() };
}

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const meta = fakeMeta(WA_TOKEN);
  const openai = fakeOpenAI(OA_KEY);
  const previousSink = setLogSink(capture);
  setEnv({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    OPENAI_API_BASE: openai.url,
    OPENAI_API_KEY: undefined, // legacy pipeline in this suite (agent_test covers the llm one)
    OPENAI_WEBHOOK_SECRET: WHSEC,
    FEATURE_AGENT_CHAT: "true",
    FEATURE_AGENT_VOICE: "true",
    AGENT_STAFF_PHONES: undefined,
  });
  // The seeded FEATURE_AGENT_VOICE flag is off: turn it on for one caller only.
  await db.query(
    "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('FEATURE_AGENT_VOICE', '+14155550123', true, 'test')",
  );
  invalidate();
  try {
    await t.step("GET handshake: the challenge with the right token, 403 otherwise", async () => {
      const ok = await whatsapp(
        new Request(`${WA_URL}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`),
      );
      eq([ok.status, await ok.text()], [200, "1158201444"], "handshake");
      eq(ok.headers.get("content-type")?.startsWith("text/plain"), true, "plain text");
      const wrong = await whatsapp(new Request(`${WA_URL}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`));
      eq(wrong.status, 403, "wrong token");
      await wrong.body?.cancel();
      const mode = await whatsapp(
        new Request(`${WA_URL}?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`),
      );
      eq(mode.status, 403, "wrong mode");
      await mode.body?.cancel();
      setEnv({ WHATSAPP_VERIFY_TOKEN: undefined });
      const none = await whatsapp(new Request(`${WA_URL}?hub.mode=subscribe&hub.verify_token=&hub.challenge=1`));
      eq(none.status, 403, "no token configured: refused");
      await none.body?.cancel();
      setEnv({ WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN });
    });

    await t.step("a signed delivery is answered through the Cloud API", async () => {
      const id = wamid();
      const r = await post(
        waRequest(WA_URL, waPayload([{ messages: [{ id, from: ANA, text: "hello" }] }]), { secret: APP_SECRET }),
      );
      eq([r.status, r.body.ok, r.body.mode], [200, true, "inline"], "answer");
      eq(meta.sent.length, 1, "one reply sent");
      const s = meta.sent[0];
      eq(
        [s.version, s.phoneNumberId, s.body.to, s.body.type],
        ["v21.0", "106540352242922", ANA, "text"],
        "send-message call",
      );
      eq(s.body.text.body, REPLIES.greet, "legacy greeting");
      const cb = JSON.parse(s.body.biz_opaque_callback_data);
      eq([cb.cid, cb.pipeline], [r.cid, "legacy"], "reply metadata: correlation id and pipeline");
      const [row] = await db.query<{ correlation_id: string }>(
        "select correlation_id from trimtab.webhook_events where provider = 'whatsapp' and event_id = $1",
        [id],
      );
      eq(row?.correlation_id, r.cid, "durable dedup row with the correlation id");
    });

    await t.step("refused signatures: 401, no webhook_events row, nothing sent", async () => {
      const before = [await events(db), meta.sent.length];
      const body = waPayload([{ messages: [{ id: wamid(), from: ANA, text: "hello" }] }]);
      const cases: [string, Request, string][] = [
        ["wrong secret", waRequest(WA_URL, body, { secret: "another-secret" }), "BAD_SIGNATURE"],
        ["tampered body", waRequest(WA_URL, body, { secret: APP_SECRET, tamper: true }), "BAD_SIGNATURE"],
        ["missing header", waRequest(WA_URL, body, { signature: null }), "MISSING_SIGNATURE"],
        ["malformed header", waRequest(WA_URL, body, { signature: "sha1=abc" }), "MALFORMED_SIGNATURE"],
      ];
      for (const [what, req, code] of cases) {
        const r = await post(req);
        eq([r.status, r.body.error?.code], [401, code], what);
      }
      eq([await events(db), meta.sent.length], before, "nothing processed");
    });

    await t.step("signed but malformed deliveries: 200 (Meta must not retry), logged, nothing processed", async () => {
      const before = [await events(db), meta.sent.length];
      for (const body of ["not json", JSON.stringify({ object: "whatsapp_business_account", entry: "x" })]) {
        lines.length = 0;
        const r = await post(waRequest(WA_URL, body, { secret: APP_SECRET }));
        eq([r.status, r.body.events], [200, 0], `answer to ${body.slice(0, 12)}`);
        assert(lines.some((l) => l.includes('"msg":"malformed whatsapp delivery"')), "logged");
      }
      eq([await events(db), meta.sent.length], before, "nothing processed");
    });

    await t.step("the same delivery twice, then five copies at once: answered once each", async () => {
      const sent0 = meta.sent.length;
      const once = waPayload([{ messages: [{ id: wamid(), from: BEN, text: "help" }] }]);
      eq((await post(waRequest(WA_URL, once, { secret: APP_SECRET }))).status, 200, "first");
      lines.length = 0;
      eq((await post(waRequest(WA_URL, once, { secret: APP_SECRET }))).status, 200, "retry is still 200");
      assert(
        lines.some((l) => l.includes('"layer":"duplicate-isolate"')),
        "the retry stopped at the in-isolate window",
      );
      eq(meta.sent.length, sent0 + 1, "one reply for a retried delivery");
      eq(meta.sent.at(-1)!.body.text.body, REPLIES.help, "help text");
      const burst = waPayload([{ messages: [{ id: wamid(), from: BEN, text: "hi" }] }]);
      const rs = await Promise.all(
        Array.from({ length: 5 }, () => post(waRequest(WA_URL, burst, { secret: APP_SECRET }))),
      );
      eq(rs.map((r) => r.status), [200, 200, 200, 200, 200], "all 200");
      eq(meta.sent.length, sent0 + 2, "one reply for five concurrent copies");
      // Past the in-isolate window (a new isolate, or after its TTL): the database still knows.
      resetDedupWindow();
      lines.length = 0;
      await post(waRequest(WA_URL, burst, { secret: APP_SECRET }));
      eq(meta.sent.length, sent0 + 2, "the durable layer refuses it too");
      assert(
        lines.some((l) => l.includes("duplicate event skipped") && l.includes('"layer":"duplicate"')),
        "logged as a database duplicate",
      );
    });

    await t.step("a batch with a duplicate inside (and repeated statuses): each event once", async () => {
      const [sent0, ev0] = [meta.sent.length, await events(db)];
      const m1 = { id: wamid(), from: CAT, text: "hello" }, m2 = { id: wamid(), from: DAN, text: "help" };
      const st = { id: "wamid.OUT1" + Date.now(), status: "delivered", recipient: CAT };
      const r = await post(
        waRequest(WA_URL, waPayload([{ messages: [m1, m2], statuses: [st] }, { messages: [m1], statuses: [st] }]), {
          secret: APP_SECRET,
        }),
      );
      eq([r.status, r.body.events], [200, 5], "five events in the delivery");
      eq(meta.sent.length - sent0, 2, "two replies");
      eq(meta.sent.slice(sent0).map((s) => s.body.to).sort(), [CAT, DAN].sort(), "one per sender");
      eq(await events(db) - ev0, 3, "three distinct events recorded");
    });

    await t.step("feature disabled: 200, logged, nothing sent", async () => {
      const sent0 = meta.sent.length;
      setEnv({ FEATURE_AGENT_CHAT: "false" });
      lines.length = 0;
      const r = await post(
        waRequest(WA_URL, waPayload([{ messages: [{ id: wamid(), from: ANA, text: "hello" }] }]), {
          secret: APP_SECRET,
        }),
      );
      eq(r.status, 200, "still 200");
      eq(meta.sent.length, sent0, "nothing sent");
      const line = lines.find((l) => l.includes('"msg":"feature disabled"'));
      assert(line && line.includes('"why":"env"') && line.includes(r.cid!), `logged with the correlation id: ${line}`);
      // The flag is the per-customer kill switch under an enabled environment.
      setEnv({ FEATURE_AGENT_CHAT: "true" });
      await db.query(
        "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('FEATURE_AGENT_CHAT', $1, false, 'test')",
        [`+${DAN}`],
      );
      invalidate();
      lines.length = 0;
      await post(
        waRequest(WA_URL, waPayload([{ messages: [{ id: wamid(), from: DAN, text: "hello" }] }]), {
          secret: APP_SECRET,
        }),
      );
      eq(meta.sent.length, sent0, "flag off for this customer: nothing sent");
      assert(
        lines.some((l) => l.includes('"msg":"feature disabled"') && l.includes('"why":"flag"')),
        "flag reason logged",
      );
    });

    await t.step("a failing send: 200 (recorded), logged, failed; the retry job sends the stored reply", async () => {
      meta.failWith = 503;
      lines.length = 0;
      const id = wamid();
      const r = await post(
        waRequest(WA_URL, waPayload([{ messages: [{ id, from: ANA, text: "hello" }] }]), {
          secret: APP_SECRET,
        }),
      );
      meta.failWith = null;
      eq(r.status, 200, "200");
      assert(
        lines.some((l) => l.includes('"msg":"reply not sent"') && l.includes('"status":503')),
        "send failure logged",
      );
      const row = async () =>
        (await db.query<{ state: string; attempts: number; last_error: string | null }>(
          "select state, attempts, last_error from trimtab.webhook_events where provider = 'whatsapp' and event_id = $1",
          [id],
        ))[0];
      eq({ ...(await row()), attempts: Number((await row()).attempts) }, {
        state: "failed",
        attempts: 1,
        last_error: "WHATSAPP_SEND_FAILED",
      }, "recorded as failed, to retry");
      // The retry job (pg_cron on Supabase) once the backoff has passed: the stored reply is sent.
      await db.query("update trimtab.webhook_events set next_attempt_at = now() where event_id = $1", [id]);
      const sent0 = meta.sent.length;
      const retry = await whatsapp(
        new Request(`${WA_URL}/retry`, { method: "POST", headers: { apikey: tk.service } }),
      );
      const out = await retry.json();
      eq([retry.status, out.due, out.replies, out.failures], [200, 1, 1, 0], JSON.stringify(out));
      eq(meta.sent.slice(sent0).map((s) => s.body.text.body), [REPLIES.greet], "the reply, once");
      eq((await row()).state, "processed", "processed");
      const again = await (await whatsapp(
        new Request(`${WA_URL}/retry`, { method: "POST", headers: { apikey: tk.service } }),
      )).json();
      eq(again.due, 0, "nothing left to retry");
      const anon = await whatsapp(new Request(`${WA_URL}/retry`, { method: "POST" }));
      eq(anon.status, 401, "the retry route needs a secret key or an admin");
      await anon.body?.cancel();
    });

    await t.step("an event whose last attempt was cut off is given up by the retry job, the sender told", async () => {
      const id = wamid();
      const [ev] = whatsappEvents(waPayload([{ messages: [{ id, from: BEN, text: "hello" }] }]));
      // As a crash in its last attempt leaves it: 'processing', the lease run out, every attempt
      // used, the payload still there.
      const max = Number(Deno.env.get("WEBHOOK_MAX_ATTEMPTS") ?? 5);
      await db.query(
        `insert into trimtab.webhook_events (provider, event_id, state, attempts, locked_until, payload)
         values ('whatsapp', $1, 'processing', $2, now() - interval '1 minute', $3::jsonb)`,
        [ev.dedupId, max, JSON.stringify(ev)],
      );
      const id2 = ev.dedupId;
      const sent0 = meta.sent.length;
      const retry = await whatsapp(
        new Request(`${WA_URL}/retry`, { method: "POST", headers: { apikey: tk.service } }),
      );
      const out = await retry.json();
      eq([retry.status, out.due, out.failures], [200, 0, 1], JSON.stringify(out));
      const [row] = await db.query<{ state: string; last_error: string; next: unknown }>(
        "select state, last_error, next_attempt_at as next from trimtab.webhook_events where event_id = $1",
        [id2],
      );
      eq([row.state, row.last_error, row.next], ["failed", "LEASE_EXPIRED", null], "failed for good");
      eq(meta.sent.slice(sent0).map((s) => [s.body.to, s.body.text.body]), [[BEN, REPLIES.failed]], "told once");
      const again = await (await whatsapp(
        new Request(`${WA_URL}/retry`, { method: "POST", headers: { apikey: tk.service } }),
      )).json();
      eq([again.due, again.failures], [0, 0], "nothing left");
    });

    await t.step("non-text messages get a friendly note", async () => {
      const sent0 = meta.sent.length;
      await post(
        waRequest(WA_URL, waPayload([{ messages: [{ id: wamid(), from: BEN, type: "image" }] }]), {
          secret: APP_SECRET,
        }),
      );
      eq(meta.sent.slice(sent0).map((s) => s.body.text.body), [REPLIES.notText], "note sent");
    });

    await t.step("EdgeRuntime.waitUntil: answered before the work, which still completes", async () => {
      const pending: Promise<unknown>[] = [];
      const g = globalThis as { EdgeRuntime?: unknown };
      g.EdgeRuntime = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
      try {
        const sent0 = meta.sent.length;
        const r = await post(
          waRequest(WA_URL, waPayload([{ messages: [{ id: wamid(), from: CAT, text: "help" }] }]), {
            secret: APP_SECRET,
          }),
        );
        eq([r.status, r.body.mode, pending.length], [200, "background", 1], "answered, work handed over");
        await Promise.all(pending);
        eq(meta.sent.length, sent0 + 1, "reply sent by the background work");
      } finally {
        delete g.EdgeRuntime;
      }
    });

    await t.step("realtime: a signed incoming call is accepted through OpenAI's API, once", async () => {
      setEnv({ OPENAI_API_KEY: OA_KEY }); // the call controls need the key (the chat stays legacy: no more chats below)
      const callId = `rtc_${crypto.randomUUID().replaceAll("-", "")}`;
      const req = () => openaiRequest(RT_URL, incomingCall(callId), { secret: WHSEC, id: `wh_${callId}` });
      const r = await realtime(req());
      eq(r.status, 200, "200");
      await r.body?.cancel();
      eq(openai.calls.map((c) => [c.action, c.callId]), [["accept", callId]], "accept called");
      eq([openai.calls[0].body.type, typeof openai.calls[0].body.instructions, openai.calls[0].body.model], [
        "realtime",
        "string",
        "gpt-realtime",
      ], "session config");
      const again = await Promise.all([realtime(req()), realtime(req())]);
      eq(again.map((x) => x.status), [200, 200], "duplicates are 200");
      await Promise.all(again.map((x) => x.body?.cancel()));
      eq(openai.calls.length, 1, "a duplicate webhook-id is processed once");
      eq(
        await count(db, "select count(*) as n from trimtab.webhook_events where provider = 'openai'"),
        1,
        "one durable row",
      );
    });

    await t.step("realtime: voice off (environment or flag) rejects the call", async () => {
      setEnv({ FEATURE_AGENT_VOICE: "false" });
      const a = `rtc_${crypto.randomUUID().replaceAll("-", "")}`;
      (await realtime(openaiRequest(RT_URL, incomingCall(a), { secret: WHSEC }))).body?.cancel();
      setEnv({ FEATURE_AGENT_VOICE: "true" });
      const b = `rtc_${crypto.randomUUID().replaceAll("-", "")}`;
      // No override for this caller: the seeded flag (disabled) decides.
      (await realtime(openaiRequest(RT_URL, incomingCall(b, "+14155550999"), { secret: WHSEC }))).body?.cancel();
      eq(openai.calls.slice(1).map((c) => [c.action, c.callId]), [["reject", a], ["reject", b]], "rejected");
      eq(openai.calls[1].body.status_code, 603, "SIP decline");
    });

    await t.step("realtime: bad signature, stale timestamp, missing header: 401, nothing done", async () => {
      const [calls0, ev0] = [openai.calls.length, await events(db)];
      const ev = () => incomingCall(`rtc_${crypto.randomUUID().replaceAll("-", "")}`);
      const cases: [string, Request, string][] = [
        [
          "wrong secret",
          openaiRequest(RT_URL, ev(), { secret: "whsec_" + btoa("another-secret-another-secret-xx") }),
          "BAD_SIGNATURE",
        ],
        [
          "stale",
          openaiRequest(RT_URL, ev(), { secret: WHSEC, timestamp: Math.floor(Date.now() / 1000) - 600 }),
          "TIMESTAMP_TOO_OLD",
        ],
        [
          "future",
          openaiRequest(RT_URL, ev(), { secret: WHSEC, timestamp: Math.floor(Date.now() / 1000) + 600 }),
          "TIMESTAMP_TOO_NEW",
        ],
        [
          "no webhook-signature",
          openaiRequest(RT_URL, ev(), { secret: WHSEC, drop: "webhook-signature" }),
          "MISSING_HEADER",
        ],
        ["no webhook-id", openaiRequest(RT_URL, ev(), { secret: WHSEC, drop: "webhook-id" }), "MISSING_HEADER"],
        [
          "no webhook-timestamp",
          openaiRequest(RT_URL, ev(), { secret: WHSEC, drop: "webhook-timestamp" }),
          "MISSING_HEADER",
        ],
      ];
      for (const [what, req, code] of cases) {
        const r = await realtime(req);
        const body = await r.json();
        eq([r.status, body.error?.code], [401, code], what);
      }
      eq([openai.calls.length, await events(db)], [calls0, ev0], "nothing processed");
    });

    await t.step("retention: events older than WEBHOOK_RETENTION_DAYS are purged, newer ones kept", async () => {
      await db.query(
        `insert into trimtab.webhook_events (provider, event_id, received_at) values
         ('whatsapp', 'old-1', now() - interval '8 days'), ('whatsapp', 'old-2', now() - interval '30 days'),
         ('whatsapp', 'recent-1', now() - interval '6 days')`,
      );
      eq(await purgeWebhookEvents(db), 2, "two older than 7 days");
      const left = await db.query<{ event_id: string }>(
        "select event_id from trimtab.webhook_events where event_id in ('old-1', 'old-2', 'recent-1')",
      );
      eq(left.map((r) => r.event_id), ["recent-1"], "the recent one stays");
      eq(await purgeWebhookEvents(db, 5), 1, "a shorter retention purges it");
    });

    await t.step("no phone number in any log line", () => assertNoPhones(everything, PHONES));
  } finally {
    setLogSink(previousSink);
    restoreEnv();
    await meta.close();
    await openai.close();
  }
}

onBothBackends("webhooks", async (t, db, tk) => {
  resetDedupWindow();
  await checks(t, db, tk);
}, {
  postgres: async (t, db, _tk, pg) => {
    await t.step("database down: 503 (Meta delivers again), nothing sent; the redelivery is processed", async () => {
      const meta = fakeMeta(WA_TOKEN);
      const previousSink = setLogSink(capture);
      setEnv({
        WHATSAPP_APP_SECRET: APP_SECRET,
        WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
        WHATSAPP_API_BASE: meta.url,
        FEATURE_AGENT_CHAT: "true",
      });
      try {
        await pg.pause!();
        lines.length = 0;
        const delivery = waPayload([{ messages: [{ id: wamid(), from: ANA, text: "hello" }] }]);
        const r = await post(waRequest(WA_URL, delivery, { secret: APP_SECRET }));
        eq([r.status, r.body.error?.code], [503, "EVENTS_NOT_RECORDED"], "not recorded: not acknowledged");
        eq(meta.sent.length, 0, "nothing sent for an event that was not recorded");
        assert(
          lines.some((l) =>
            l.includes('"msg":"webhook events not recorded; the provider will deliver again"') && l.includes(r.cid!)
          ),
          "logged with the correlation id",
        );
        for (const p of PHONES) assert(!lines.join("\n").includes(p), "no phone in the failure logs");
        // Meta delivers again (it retries answers other than 2xx): processed then.
        await pg.resume!();
        const again = await post(waRequest(WA_URL, delivery, { secret: APP_SECRET }));
        eq([again.status, again.body.recorded], [200, 1], "redelivery recorded");
        eq(meta.sent.map((s) => s.body.text.body), [REPLIES.greet], "the redelivery is processed");
      } finally {
        setLogSink(previousSink);
        restoreEnv();
        await pg.resume!().catch(() => {}); // already back unless an assertion failed first
        await meta.close();
      }
      void db;
    });
  },
});

// ---------------------------------------------------------------- two processes, one database

Deno.test({
  name: "webhooks across two processes sharing one Postgres: one delivery, one reply",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPg();
    const meta = fakeMeta(WA_TOKEN);
    const stacks: Stack[] = [];
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 2 });
      const env = {
        WHATSAPP_APP_SECRET: APP_SECRET,
        WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
        WHATSAPP_API_BASE: meta.url,
        OPENAI_API_KEY: "",
        FEATURE_AGENT_CHAT: "true",
      };
      stacks.push(...await Promise.all([startStack(pg.url, env), startStack(pg.url, env)]));
      const [a, b] = stacks;
      const fn = (s: Stack) => `${s.url}/functions/v1/ai-whatsapp-webhook`;
      const send = (s: Stack, payload: unknown) => fetch(waRequest(fn(s), payload, { secret: APP_SECRET }));

      // verify_jwt = false: no Supabase token needed; a bad signature is still refused.
      const bad = await fetch(
        waRequest(fn(a), waPayload([{ messages: [{ id: wamid(), from: ANA, text: "hi" }] }]), { secret: "x" }),
      );
      eq(bad.status, 401, "refused by the function, not the gateway");
      await bad.body?.cancel();

      const dup = waPayload([{ messages: [{ id: wamid(), from: ANA, text: "hello" }] }]);
      const rs = await Promise.all([a, b, a, b, a, b, a, b].map((s) => send(s, dup)));
      eq(rs.map((r) => r.status), [200, 200, 200, 200, 200, 200, 200, 200], "every copy answered 200");
      await Promise.all(rs.map((r) => r.body?.cancel()));
      eq(meta.sent.length, 1, "one reply for one message delivered eight times to two processes");
      eq(meta.sent[0].body.text.body, REPLIES.greet, "the greeting");
      // Both processes do process distinct messages.
      for (const [s, who] of [[a, BEN], [b, CAT]] as const) {
        const r = await send(s, waPayload([{ messages: [{ id: wamid(), from: who, text: "help" }] }]));
        await r.body?.cancel();
      }
      eq(meta.sent.length, 3, "each stack answers new messages");
      eq(await count(db, "select count(*) as n from trimtab.webhook_events"), 3, "three events recorded");
      await db.close();
    } finally {
      await Promise.all(stacks.map(stopStack));
      await meta.close();
      await pg.stop();
    }
  },
});
