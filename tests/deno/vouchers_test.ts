// The voucher/customer tools (ai-lookup-customer, ai-create-voucher, ai-redeem-voucher,
// ai-void-voucher) and _shared/vouchers.ts, in-process, on PGlite and a real Debian Postgres:
// happy paths with their voucher_events rows (actor, correlation id, reason), 50 concurrent redeems
// (exactly one wins), refused transitions, ownership, expiry, a mistyped code refused before the
// database, Idempotency-Key (replay, reuse with another body, 10 concurrent requests), feature
// switches (environment and flag), auth, bad input writing nothing, and logs without phone numbers.
//
//   deno test --allow-read --allow-run --allow-env --allow-net=127.0.0.1,localhost \
//     --allow-write=tests/artifacts,.data tests/deno/vouchers_test.ts
import "../../supabase/functions/_shared/platform/routed.ts";
import lookupFn from "../../supabase/functions/ai-lookup-customer/index.ts";
import createFn from "../../supabase/functions/ai-create-voucher/index.ts";
import redeemFn from "../../supabase/functions/ai-redeem-voucher/index.ts";
import voidFn from "../../supabase/functions/ai-void-voucher/index.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { canonicalJson } from "../../supabase/functions/_shared/agent/idempotency.ts";
import { setLogLevel, setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { useDb } from "../../supabase/functions/_shared/platform/store.ts";
import { generateVoucherCode } from "../../supabase/functions/_shared/platform/trimtab.ts";
import {
  createVoucher,
  lookupCustomer,
  redeemVoucher,
  voidVoucher,
} from "../../supabase/functions/_shared/agent/vouchers.ts";
import { HttpError } from "../../supabase/functions/_shared/platform/http.ts";
import { assert, call, eq, LEAKS, onBothBackends, req, type Tokens } from "./support.ts";

import type { Json } from "./support.ts";
type Fn = (r: Request) => Promise<Response> | Response;

// The last 8 digits of every phone used below (and a spaced form): no log line may contain them.
const PHONE_A = "+250788123401";
const PHONE_B = "+250788123402";
const PHONE_C = "+254711123403";
const PHONE_D = "+250788123404";
const PHONE_DIGITS = ["88123401", "88123402", "11123403", "88123404", "788 123 4"];

const FEATURE_ENV = ["FEATURE_AGENT_VOUCHERS", "FEATURE_AGENT_CUSTOMER_LOOKUP"];
const POLICY_ENV = ["VOUCHER_MAX_AMOUNT_MINOR", "VOUCHER_CURRENCIES", "VOUCHER_TTL_DAYS"];

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
}

function saveEnv(names: string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, Deno.env.get(n)]));
}

const count = async (db: Db, sql: string, params: unknown[] = []) =>
  Number((await db.query<{ n: unknown }>(sql, params as never[]))[0].n);

/** Rows in every table the tools write. */
const counts = async (db: Db) => ({
  profiles: await count(db, "select count(*) as n from trimtab.customers"),
  vouchers: await count(db, "select count(*) as n from trimtab.vouchers"),
  events: await count(db, "select count(*) as n from trimtab.voucher_events"),
  keys: await count(db, "select count(*) as n from trimtab.idempotency_keys"),
  redeemed: await count(db, "select count(*) as n from trimtab.vouchers where status <> 'issued'"),
});

const events = (db: Db, voucherId: string) =>
  db.query<Json>(
    "select from_status, to_status, actor, correlation_id, reason from trimtab.voucher_events where voucher_id = $1 order by id",
    [voucherId],
  );

const statusOf = async (db: Db, code: string) =>
  (await db.query<Json>("select status from trimtab.vouchers where code = $1", [code]))[0]?.status;

/** One character of `code` replaced (a typo), at the n-th letter or digit from the end (the check
 *  character, then the random body; not the fixed prefix). */
function typo(code: string, n: number): string {
  const idx = [...code].map((c, i) => (/[0-9A-Za-z]/.test(c) ? i : -1)).filter((i) => i >= 0).reverse();
  const i = idx[n % idx.length];
  const alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
  const next = alphabet[(alphabet.indexOf(code[i].toUpperCase()) + 1 + n) % alphabet.length];
  const out = code.slice(0, i) + (next === code[i] ? alphabet[(alphabet.indexOf(next) + 1) % alphabet.length] : next) +
    code.slice(i + 1);
  assert(out !== code && out.length === code.length, "typo changes exactly one character");
  return out;
}

/** Turns the FEATURE_AGENT_* flags fully on, whatever the seed says: no schedule (a schedule step
 *  would override the rollout once its time has passed), no rules, no prerequisites, no overrides. */
async function flagsOn(db: Db) {
  const keys = "('FEATURE_AGENT_VOUCHERS', 'FEATURE_AGENT_CUSTOMER_LOOKUP')";
  await db.query(`delete from trimtab.user_feature_overrides where flag_key in ${keys}`);
  await db.query(
    `update trimtab.feature_flags set enabled = true, rollout_percentage = 100, admin_override = null,
       schedule = null, rules = null, prerequisites = null
     where key in ${keys}`,
  );
  invalidate();
}

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const env = saveEnv([...FEATURE_ENV, ...POLICY_ENV]);
  const lines: string[] = [];
  const prevSink = setLogSink((line) => lines.push(line));
  setLogLevel("info");
  const api = (
    fn: Fn,
    path: string,
    body: unknown,
    o: { token?: string | null; headers?: Record<string, string> } = {},
  ) =>
    call(
      fn,
      req(path, { token: o.token === undefined ? tk.service : o.token, method: "POST", body, headers: o.headers }),
    );
  const create = (body: unknown, o = {}) => api(createFn, "/ai-create-voucher", body, o);
  const redeem = (body: unknown, o = {}) => api(redeemFn, "/ai-redeem-voucher", body, o);
  const voidV = (body: unknown, o = {}) => api(voidFn, "/ai-void-voucher", body, o);
  const lookup = (body: unknown, o = {}) => api(lookupFn, "/ai-lookup-customer", body, o);
  const cid = (id: string) => ({ headers: { "x-correlation-id": id } });

  try {
    setEnv({ FEATURE_AGENT_VOUCHERS: undefined, FEATURE_AGENT_CUSTOMER_LOOKUP: undefined });
    for (const k of POLICY_ENV) Deno.env.delete(k);
    await flagsOn(db);

    await t.step("feature switches off (environment, then flag): 200 disabled, nothing written", async () => {
      const before = await counts(db);
      const code = generateVoucherCode();
      const calls: [Fn, string, unknown, string][] = [
        [createFn, "/ai-create-voucher", { phone: PHONE_A, amount: 1000, currency: "RWF" }, "FEATURE_AGENT_VOUCHERS"],
        [redeemFn, "/ai-redeem-voucher", { code, phone: PHONE_A }, "FEATURE_AGENT_VOUCHERS"],
        [voidFn, "/ai-void-voucher", { code }, "FEATURE_AGENT_VOUCHERS"],
        [lookupFn, "/ai-lookup-customer", { phone: PHONE_A }, "FEATURE_AGENT_CUSTOMER_LOOKUP"],
      ];
      const n0 = lines.filter((l) => l.includes('"feature disabled"')).length;
      for (const [fn, path, body, feature] of calls) {
        const r = await api(fn, path, body);
        eq([r.status, r.body], [200, { ok: false, disabled: true, feature }], `${path} with the env switch off`);
      }
      eq(lines.filter((l) => l.includes('"feature disabled"')).length - n0, 4, "each logs 'feature disabled'");
      // Environment on, flag killed with its admin override.
      setEnv({ FEATURE_AGENT_VOUCHERS: "true", FEATURE_AGENT_CUSTOMER_LOOKUP: "1" });
      await db.query("update trimtab.feature_flags set admin_override = 'off' where key like 'FEATURE_AGENT_%'");
      invalidate();
      for (const [fn, path, body, feature] of calls) {
        const r = await api(fn, path, body);
        eq([r.status, r.body], [200, { ok: false, disabled: true, feature }], `${path} with the flag off`);
      }
      assert(lines.some((l) => l.includes('"feature disabled"') && l.includes('"why":"flag"')), "flag reason logged");
      eq(await counts(db), before, "nothing written");
      await flagsOn(db);
      const on = await create({ phone: PHONE_A, amount: 1000, currency: "RWF" });
      eq(on.status, 201, "on again: the same request creates");
    });

    await t.step("auth: service role or admin only (401 / 403), nothing written", async () => {
      const before = await counts(db);
      const user = await tk.user("user-1");
      const bodies: [Fn, string, unknown][] = [
        [createFn, "/ai-create-voucher", { phone: PHONE_A, amount: 1000, currency: "RWF" }],
        [redeemFn, "/ai-redeem-voucher", { code: generateVoucherCode(), phone: PHONE_A }],
        [voidFn, "/ai-void-voucher", { code: generateVoucherCode() }],
        [lookupFn, "/ai-lookup-customer", { phone: PHONE_A }],
      ];
      for (const [fn, path, body] of bodies) {
        const cases: [string | null, number, string][] = [
          [null, 401, "UNAUTHORIZED"],
          [tk.anon, 401, "UNAUTHORIZED"],
          [tk.service.slice(0, -4) + "AAAA", 401, "UNKNOWN_API_KEY"],
          [tk.admin.slice(0, -4) + (tk.admin.endsWith("AAAA") ? "BBBB" : "AAAA"), 401, "BAD_SIGNATURE"],
          [user, 403, "FORBIDDEN"],
        ];
        for (const [token, status, code] of cases) {
          const r = await api(fn, path, body, { token });
          eq([r.status, r.body?.error?.code], [status, code], `${path} token ${String(token).slice(0, 12)}`);
        }
        const get = await call(fn, req(path, { token: tk.service }));
        eq([get.status, get.body?.error?.code], [405, "METHOD_NOT_ALLOWED"], `${path} GET`);
      }
      eq(await counts(db), before, "nothing written");
    });

    await t.step("create, lookup, redeem, void: answers and voucher_events (actor, correlation id)", async () => {
      const c = await create({ phone: "+250 788 123 402", amount: 15000, currency: "RWF" }, cid("cid-create-1"));
      eq(c.status, 201, "created");
      const v = c.body.voucher;
      eq(
        [c.body.ok, v.holderPhone, v.amountMinor, v.currency, v.status, v.redeemedAt, v.voidedAt],
        [true, PHONE_B, 15000, "RWF", "issued", null, null],
        "voucher",
      );
      eq(c.headers.get("x-correlation-id"), "cid-create-1", "correlation id echoed");
      const ttl = Date.parse(v.expiresAt) - Date.parse(v.createdAt);
      assert(Math.abs(ttl - 30 * 86_400_000) < 120_000, `default expiry is 30 days, got ${ttl} ms`);
      eq(await events(db, v.id), [{
        from_status: null,
        to_status: "issued",
        actor: "service_role",
        correlation_id: "cid-create-1",
        reason: null,
      }], "issue event");

      const l = await lookup({ phone: PHONE_B });
      eq(
        [l.status, l.body.customer.phone, l.body.customer.vouchers.map((x: Json) => x.id)],
        [200, PHONE_B, [v.id]],
        "lookup",
      );
      eq(l.body.customer.vouchers[0], v, "lookup shows the same voucher");
      const none = await lookup({ phone: "+250788999001" });
      eq([none.status, none.body.error.code], [404, "CUSTOMER_NOT_FOUND"], "unknown customer");

      const r = await redeem({ code: v.code.toLowerCase(), phone: PHONE_B }, {
        ...cid("cid-redeem-1"),
        token: tk.admin,
      });
      eq(
        [r.status, r.body.voucher.id, r.body.voucher.status],
        [200, v.id, "redeemed"],
        "redeemed (code in lower case)",
      );
      assert(typeof r.body.voucher.redeemedAt === "string", "redeemedAt set");
      eq((await events(db, v.id)).slice(1), [
        {
          from_status: "issued",
          to_status: "redeemed",
          actor: "admin-1",
          correlation_id: "cid-redeem-1",
          reason: null,
        },
      ], "redeem event (admin actor)");

      const c2 = await create({ phone: PHONE_B, amount: 500, currency: "USD", expiresAt: "2099-01-01T00:00:00Z" });
      eq([c2.status, c2.body.voucher.expiresAt], [201, "2099-01-01T00:00:00.000Z"], "explicit expiry");
      eq(
        await count(db, "select count(*) as n from trimtab.customers where phone = $1", [PHONE_B]),
        1,
        "one profile per phone",
      );
      const d = await voidV({ code: c2.body.voucher.code, reason: "  issued by mistake " }, cid("cid-void-1"));
      eq([d.status, d.body.voucher.status, typeof d.body.voucher.voidedAt], [200, "voided", "string"], "voided");
      eq((await events(db, c2.body.voucher.id)).slice(1), [
        {
          from_status: "issued",
          to_status: "voided",
          actor: "service_role",
          correlation_id: "cid-void-1",
          reason: "issued by mistake",
        },
      ], "void event with its reason");
    });

    await t.step("the module API the agents call", async () => {
      const who = { actor: "agent:whatsapp", correlationId: "cid-agent-1" };
      const v = await createVoucher(db, { phone: PHONE_C, amount: 2500, currency: "KES" }, who);
      eq([v.holderPhone, v.status, v.amountMinor], [PHONE_C, "issued", 2500], "created");
      const cust = await lookupCustomer(db, "+254 711 123 403");
      eq([cust?.phone, cust?.displayName, cust?.vouchers.length], [PHONE_C, null, 1], "customer");
      eq(await lookupCustomer(db, "+254711000999"), null, "unknown customer is null");
      const refused = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (e) {
          assert(e instanceof HttpError, `an HttpError, got ${e}`);
          return [e.status, e.code];
        }
        throw new Error("not refused");
      };
      eq(await refused(lookupCustomer(db, "0788")), [400, "INVALID_PHONE"], "lookup bad phone");
      eq(await refused(redeemVoucher(db, v.code, PHONE_A, who)), [403, "NOT_OWNER"], "not the holder");
      const r = await redeemVoucher(db, v.code, PHONE_C, { ...who, correlationId: "cid-agent-2" });
      eq(r.status, "redeemed", "redeemed");
      eq(await refused(voidVoucher(db, v.code, who, "late")), [409, "VOUCHER_NOT_ISSUED"], "void after redeem");
      eq(
        await refused(redeemVoucher(db, generateVoucherCode(), PHONE_C, who)),
        [404, "VOUCHER_NOT_FOUND"],
        "unknown code",
      );
      eq(
        await refused(createVoucher(db, { phone: PHONE_C, amount: 0, currency: "KES" }, who)),
        [400, "INVALID_AMOUNT"],
        "amount 0",
      );
      eq((await events(db, v.id)).map((e: Json) => [e.to_status, e.actor, e.correlation_id]), [
        ["issued", "agent:whatsapp", "cid-agent-1"],
        ["redeemed", "agent:whatsapp", "cid-agent-2"],
      ], "events");
    });

    await t.step("50 concurrent redeems of one voucher: exactly one succeeds", async () => {
      const c = await create({ phone: PHONE_A, amount: 7000, currency: "RWF" });
      eq(c.status, 201, "created");
      const code = c.body.voucher.code;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => redeem({ code, phone: PHONE_A }, cid(`cid-race-${i}`))),
      );
      const ok = results.filter((r) => r.status === 200);
      const lost = results.filter((r) => r.status === 409 && r.body.error.code === "VOUCHER_NOT_ISSUED");
      eq([ok.length, lost.length], [1, 49], "one 200, 49 x 409 VOUCHER_NOT_ISSUED");
      assert(lost.every((r) => /redeemed/.test(r.body.error.message)), "the message says it was redeemed");
      const ev = await events(db, c.body.voucher.id);
      eq(ev.map((e: Json) => e.to_status), ["issued", "redeemed"], "one redeem event");
      eq(ev[1].correlation_id, ok[0].headers.get("x-correlation-id"), "the winner's correlation id");
      eq(await statusOf(db, code), "redeemed", "row");
    });

    await t.step("refused transitions: void after redeem, redeem after void, other holder, expired", async () => {
      const before = await counts(db);
      const a = (await create({ phone: PHONE_A, amount: 100, currency: "RWF" })).body.voucher;
      const b = (await create({ phone: PHONE_A, amount: 200, currency: "RWF" })).body.voucher;
      eq((await redeem({ code: a.code, phone: PHONE_A })).status, 200, "redeem a");
      const v1 = await voidV({ code: a.code });
      eq([v1.status, v1.body.error.code], [409, "VOUCHER_NOT_ISSUED"], "void after redeem");
      assert(/redeemed/.test(v1.body.error.message), "says redeemed");
      const r1 = await redeem({ code: a.code, phone: PHONE_A });
      eq([r1.status, r1.body.error.code], [409, "VOUCHER_NOT_ISSUED"], "redeem twice");

      const other = await redeem({ code: b.code, phone: PHONE_D });
      eq([other.status, other.body.error.code], [403, "NOT_OWNER"], "another phone");
      eq(await statusOf(db, b.code), "issued", "still issued after NOT_OWNER");
      eq((await voidV({ code: b.code })).status, 200, "void b");
      const r2 = await redeem({ code: b.code, phone: PHONE_A });
      eq([r2.status, r2.body.error.code], [409, "VOUCHER_NOT_ISSUED"], "redeem after void");
      assert(/voided/.test(r2.body.error.message), "says voided");
      const v2 = await voidV({ code: b.code });
      eq([v2.status, v2.body.error.code], [409, "VOUCHER_NOT_ISSUED"], "void twice");

      // An expired voucher (written directly: the API refuses a past expiry).
      const code = generateVoucherCode();
      await db.query(
        `insert into trimtab.vouchers (code, customer_id, amount_minor, currency, created_at, expires_at)
         select $1, id, 300, 'RWF', now() - interval '2 days', now() - interval '1 day' from trimtab.customers where phone = $2`,
        [code, PHONE_A],
      );
      const ex = await redeem({ code, phone: PHONE_A });
      eq([ex.status, ex.body.error.code], [410, "VOUCHER_EXPIRED"], "expired");
      eq(await statusOf(db, code), "issued", "expired voucher untouched");
      const nf = await redeem({ code: generateVoucherCode(), phone: PHONE_A });
      eq([nf.status, nf.body.error.code], [404, "VOUCHER_NOT_FOUND"], "unknown code");
      const after = await counts(db);
      eq(
        [after.vouchers - before.vouchers, after.events - before.events],
        [3, 5],
        "3 vouchers, 2 issue + 1 redeem + 1 void + expired insert events",
      );
      for (const r of [v1, r1, other, r2, v2, ex, nf]) assert(!LEAKS.test(r.body.error.message), r.body.error.message);
    });

    await t.step("a mistyped code is refused before the database is touched", async () => {
      const v = (await create({ phone: PHONE_A, amount: 900, currency: "RWF" })).body.voucher;
      let touched = 0;
      const boom = () => {
        touched++;
        throw new Error("database touched");
      };
      useDb({ kind: db.kind, query: boom, exec: boom, tx: boom, asUser: boom } as unknown as Db);
      try {
        for (let n = 0; n < 6; n++) {
          const bad = typo(v.code, n);
          const r = await redeem({ code: bad, phone: PHONE_A });
          eq([r.status, r.body.error.code], [400, "INVALID_CODE"], `redeem ${bad} (from ${v.code})`);
          const d = await voidV({ code: bad });
          eq([d.status, d.body.error.code], [400, "INVALID_CODE"], `void ${bad}`);
        }
        for (const junk of ["", "x", "DROP TABLE trimtab.vouchers", 42]) {
          const r = await redeem({ code: junk, phone: PHONE_A });
          eq([r.status, r.body.error.code], [400, "INVALID_CODE"], `redeem ${JSON.stringify(junk)}`);
        }
        eq(touched, 0, "the database was not touched");
        const real = await redeem({ code: v.code, phone: PHONE_A });
        eq([real.status, real.body.error.code], [500, "INTERNAL"], "the real code does reach the database");
        assert(touched > 0, "and touched it");
        assert(!real.body.error.message.includes("database touched"), "no detail sent");
      } finally {
        useDb(db);
      }
      eq(await statusOf(db, v.code), "issued", "untouched");
    });

    await t.step("Idempotency-Key: replay, reuse with another body, concurrent requests", async () => {
      const body = { phone: PHONE_D, amount: 4200, currency: "USD" };
      const key = (k: string, extra: Record<string, string> = {}) => ({ headers: { "idempotency-key": k, ...extra } });
      const before = await counts(db);
      const first = await create(body, key("key-1"));
      eq([first.status, first.headers.get("idempotent-replayed")], [201, null], "first");
      const again = await create({ currency: "USD", amount: 4200, phone: PHONE_D }, key("key-1"));
      eq([again.status, again.headers.get("idempotent-replayed")], [201, "true"], "replay (keys in another order)");
      eq(JSON.stringify(again.body), JSON.stringify(first.body), "the same answer, byte for byte");
      const other = await create({ ...body, amount: 4300 }, key("key-1"));
      eq([other.status, other.body.error.code], [409, "IDEMPOTENCY_KEY_REUSED"], "another body");
      const after1 = await counts(db);
      eq([after1.vouchers - before.vouchers, after1.keys - before.keys], [1, 1], "one voucher, one key");

      const many = await Promise.all(Array.from({ length: 10 }, () => create(body, key("key-2"))));
      eq(many.map((r) => r.status), Array(10).fill(201), "all 201");
      eq(new Set(many.map((r) => r.body.voucher.id)).size, 1, "one voucher id");
      eq(many.filter((r) => r.headers.get("idempotent-replayed") === null).length, 1, "one original, 9 replays");
      assert(many[0].body.voucher.id !== first.body.voucher.id, "another key, another voucher");
      const after2 = await counts(db);
      eq([after2.vouchers - after1.vouchers, after2.keys - after1.keys], [1, 1], "one more voucher, one more key");
      eq(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}', "canonical JSON");

      for (const bad of ["a b", "a\tb", "k".repeat(256), "\x7f"]) {
        const r = await create(body, key(bad));
        eq([r.status, r.body.error.code], [400, "INVALID_IDEMPOTENCY_KEY"], `key ${JSON.stringify(bad.slice(0, 10))}`);
      }
      // Invalid input under a fresh key: refused, and the key is not spent.
      const inv = await create({ ...body, amount: 0 }, key("key-3"));
      eq([inv.status, inv.body.error.code], [400, "INVALID_AMOUNT"], "bad body under a key");
      eq((await create(body, key("key-3"))).status, 201, "the key is still free");
      eq((await counts(db)).vouchers - after2.vouchers, 1, "and created one voucher");
    });

    await t.step("bad input: its code, and nothing written", async () => {
      const ok = { phone: PHONE_A, amount: 1000, currency: "RWF" };
      const long = "x".repeat(20 * 1024);
      const cases: [Fn, string, unknown, number, string][] = [
        [createFn, "/ai-create-voucher", "{not json", 400, "BAD_JSON"],
        [createFn, "/ai-create-voucher", "", 400, "BAD_JSON"],
        [createFn, "/ai-create-voucher", JSON.stringify({ ...ok, pad: long }), 413, "PAYLOAD_TOO_LARGE"],
        [createFn, "/ai-create-voucher", [ok], 400, "INVALID_INPUT"],
        [createFn, "/ai-create-voucher", { ...ok, colour: "red" }, 400, "UNKNOWN_FIELD"],
        [createFn, "/ai-create-voucher", { ...ok, amount: 0 }, 400, "INVALID_AMOUNT"],
        [createFn, "/ai-create-voucher", { ...ok, amount: 1.5 }, 400, "INVALID_AMOUNT"],
        [createFn, "/ai-create-voucher", { ...ok, amount: -1 }, 400, "INVALID_AMOUNT"],
        [createFn, "/ai-create-voucher", { ...ok, amount: 10_000_001 }, 400, "INVALID_AMOUNT"],
        [createFn, "/ai-create-voucher", { ...ok, amount: "1000" }, 400, "INVALID_AMOUNT"],
        [createFn, "/ai-create-voucher", { phone: PHONE_A, currency: "RWF" }, 400, "INVALID_AMOUNT"],
        [createFn, "/ai-create-voucher", { ...ok, currency: "rwf" }, 400, "INVALID_CURRENCY"],
        [createFn, "/ai-create-voucher", { ...ok, currency: "EUR" }, 400, "INVALID_CURRENCY"],
        [createFn, "/ai-create-voucher", { ...ok, currency: 646 }, 400, "INVALID_CURRENCY"],
        [createFn, "/ai-create-voucher", { ...ok, phone: "0788" }, 400, "INVALID_PHONE"],
        [createFn, "/ai-create-voucher", { ...ok, phone: 250788123401 }, 400, "INVALID_PHONE"],
        [createFn, "/ai-create-voucher", { ...ok, expiresAt: "2020-01-01T00:00:00Z" }, 400, "INVALID_EXPIRY"],
        [createFn, "/ai-create-voucher", { ...ok, expiresAt: "next week" }, 400, "INVALID_EXPIRY"],
        [createFn, "/ai-create-voucher", { ...ok, expiresAt: 1 }, 400, "INVALID_EXPIRY"],
        [redeemFn, "/ai-redeem-voucher", { code: generateVoucherCode() }, 400, "INVALID_PHONE"],
        [redeemFn, "/ai-redeem-voucher", { code: generateVoucherCode(), phone: "0788" }, 400, "INVALID_PHONE"],
        [redeemFn, "/ai-redeem-voucher", { phone: PHONE_A }, 400, "INVALID_CODE"],
        [
          redeemFn,
          "/ai-redeem-voucher",
          { code: generateVoucherCode(), phone: PHONE_A, amount: 1 },
          400,
          "UNKNOWN_FIELD",
        ],
        [voidFn, "/ai-void-voucher", { code: generateVoucherCode(), reason: 7 }, 400, "INVALID_INPUT"],
        [voidFn, "/ai-void-voucher", { code: generateVoucherCode(), reason: "r".repeat(1001) }, 400, "INVALID_INPUT"],
        [voidFn, "/ai-void-voucher", "null", 400, "INVALID_INPUT"],
        [lookupFn, "/ai-lookup-customer", { phone: "0788" }, 400, "INVALID_PHONE"],
        [lookupFn, "/ai-lookup-customer", {}, 400, "INVALID_PHONE"],
        [lookupFn, "/ai-lookup-customer", { phone: PHONE_A, name: "x" }, 400, "UNKNOWN_FIELD"],
      ];
      const before = await counts(db);
      for (const [fn, path, body, status, code] of cases) {
        const r = await api(fn, path, body);
        const what = `${path} ${typeof body === "string" ? body.slice(0, 30) : JSON.stringify(body).slice(0, 80)}`;
        eq([r.status, r.body?.error?.code], [status, code], what);
        assert(typeof r.body.error.message === "string" && r.body.error.message.length > 0, `${what}: message`);
        assert(!LEAKS.test(r.body.error.message), `${what}: leaks ${r.body.error.message}`);
        assert(!/788|0788/.test(r.body.error.message), `${what}: echoes the phone`);
      }
      eq(await counts(db), before, "nothing written");

      // The policy comes from the environment.
      setEnv({ VOUCHER_MAX_AMOUNT_MINOR: "5000", VOUCHER_CURRENCIES: "EUR", VOUCHER_TTL_DAYS: "2" });
      const big = await create({ ...ok, amount: 5001, currency: "EUR" });
      eq([big.status, big.body.error?.code], [400, "INVALID_AMOUNT"], "over VOUCHER_MAX_AMOUNT_MINOR");
      const rwf = await create({ ...ok, amount: 5000 });
      eq([rwf.status, rwf.body.error?.code], [400, "INVALID_CURRENCY"], "RWF not in VOUCHER_CURRENCIES");
      assert(
        /5000/.test(big.body.error.message) && /EUR/.test(rwf.body.error.message),
        "messages say what is accepted",
      );
      const eur = await create({ ...ok, amount: 5000, currency: "EUR" });
      eq(eur.status, 201, "EUR at the maximum");
      const ttl = Date.parse(eur.body.voucher.expiresAt) - Date.parse(eur.body.voucher.createdAt);
      assert(Math.abs(ttl - 2 * 86_400_000) < 120_000, `VOUCHER_TTL_DAYS=2, got ${ttl} ms`);
      for (const k of POLICY_ENV) Deno.env.delete(k);
    });

    await t.step("the schema guards transitions itself", async () => {
      const v = (await create({ phone: PHONE_A, amount: 100, currency: "RWF" })).body.voucher;
      eq((await redeem({ code: v.code, phone: PHONE_A })).status, 200, "redeemed");
      const refused = async (sql: string, params: unknown[] = []) => {
        try {
          await db.query(sql, params as never[]);
        } catch (e) {
          return String((e as { code?: unknown }).code);
        }
        return "accepted";
      };
      eq(
        await refused("update trimtab.vouchers set status = 'issued', redeemed_at = null where id = $1", [v.id]),
        "23514",
        "back to issued",
      );
      eq(
        await refused(
          "update trimtab.vouchers set status = 'voided', voided_at = now(), redeemed_at = null where id = $1",
          [
            v.id,
          ],
        ),
        "23514",
        "redeemed -> voided",
      );
      eq(await refused("update trimtab.vouchers set amount_minor = 1 where id = $1", [v.id]), "23514", "amount");
      eq(
        await refused("update trimtab.vouchers set expires_at = expires_at + interval '1 day' where id = $1", [v.id]),
        "23514",
        "expiry",
      );
      eq(
        await refused("update trimtab.voucher_events set actor = 'x' where voucher_id = $1", [v.id]),
        "42501",
        "events append-only",
      );
      eq(
        await refused(
          "insert into trimtab.vouchers (code, customer_id, amount_minor, currency, expires_at) select 'ABCDEF', id, 0, 'RWF', now() + interval '1 day' from trimtab.customers limit 1",
        ),
        "23514",
        "amount 0",
      );
      let del = "accepted";
      await db.asUser({ role: "service_role" }, async (tx) => {
        try {
          await tx.query("delete from trimtab.vouchers where id = $1", [v.id]);
        } catch (e) {
          del = String((e as { code?: unknown }).code);
        }
      }).catch(() => {}); // the aborted transaction cannot commit
      eq(del, "42501", "the service role cannot delete vouchers");
      eq(await statusOf(db, v.code), "redeemed", "unchanged");
    });

    await t.step("logs: correlation ids and events, never a phone number", () => {
      assert(lines.length > 100, `captured ${lines.length} lines`);
      assert(
        lines.some((l) => l.includes('"cid-create-1"') && l.includes('"voucher created"')),
        "create logged with its id",
      );
      assert(lines.some((l) => l.includes('"cid-redeem-1"') && l.includes('"voucher redeemed"')), "redeem logged");
      const leaks = lines.filter((l) => PHONE_DIGITS.some((d) => l.includes(d)));
      eq(leaks.slice(0, 3), [], "lines with a phone number");
    });
  } finally {
    setLogSink(prevSink);
    setLogLevel("warn");
    setEnv(env);
    invalidate();
  }
}

onBothBackends("agent voucher tools", checks);
