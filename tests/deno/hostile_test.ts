// Hostile input and faults, each over real HTTP through the local stack's router (scripts/serve.ts
// as its own process), on PGlite and on a Debian Postgres:
//   - hostile JSON (nested 10,000 deep, U+0000, lone surrogates) is refused before the database,
//     and the stack stays healthy and stops on SIGTERM
//   - Idempotency-Keys belong to their caller; a retry that writes the phone another way replays
//   - webhook events are never lost: 503 while the database is out (Meta delivers again), and a
//     malformed event does not drop its valid neighbour
//   - DELETE without a body works
//   - a rollout change while a schedule governs clears the elapsed steps (audited) and takes effect
//   - the publishable key sees client-visible flags only
//   - flags-admin answers only its own origin; the dashboard has a strict CSP
//   - an admin write reads only the rows it changes (an RLS-counted probe), not every flag
// (Regex rules' cost and fail-open are the core's: tests/limits.rs, tests/deno/regex_diff_test.ts.)
import { LOCAL_ISSUER, localKeys, userToken } from "../../scripts/dev/keys.ts";
import { REPLIES } from "../../supabase/functions/_shared/agent/agent.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { fakeMeta, waPayload, waRequest } from "./fakes.ts";
import { fetchWithin, type HttpStack, onBothStacks, type StackDb } from "./http_stack.ts";
import { assert, eq, type Json, ROOT } from "./support.ts";

const APP_SECRET = "wa-app-secret-findings-0123456789";
const WA_TOKEN = "EAAGfindings0123456789";
/** Flags the scale probe adds before the stack starts, so a write that reads them all shows. */
const FILLER = 300;
const PROBE_WRITES = 12;

const root = decodeURIComponent(ROOT.pathname);

/** Installs the scale probe: a restrictive RLS policy on feature_flags that counts every row an
 *  admin transaction marked `trimtab.reason = 'scale-probe'` reads, and FILLER flags. */
async function installProbe(db: Db): Promise<void> {
  await db.exec(`
    create schema if not exists probe;
    create sequence if not exists probe.reads;
    create or replace function probe.count_read() returns boolean language plpgsql volatile as $$
    begin
      if current_setting('trimtab.reason', true) = 'scale-probe' then perform nextval('probe.reads'); end if;
      return true;
    end $$;
    grant usage on schema probe to authenticated, service_role;
    grant usage, select on sequence probe.reads to authenticated, service_role;
    grant execute on function probe.count_read() to authenticated, service_role;
    create policy scale_probe on trimtab.feature_flags as restrictive for select to authenticated
      using (probe.count_read());
    insert into trimtab.feature_flags (key, enabled, rollout_percentage, rules)
    select 'filler_' || i, true, 10, '[{"condition": {"country": "RW"}, "rollout": 100}]'::jsonb
      from generate_series(1, ${FILLER}) as i;
  `);
}

/** A signed WhatsApp delivery to the stack at `base`. */
const deliver = (base: string, payload: unknown) =>
  fetch(waRequest(`${base}/functions/v1/ai-whatsapp-webhook`, payload, { secret: APP_SECRET }), {
    signal: AbortSignal.timeout(10_000),
  });

const probeReads = async (db: Db) =>
  Number(
    (await db.query<{ n: unknown }>("select coalesce((select last_value from probe.reads where is_called), 0) as n"))[0]
      .n,
  );

onBothStacks("hostile input and faults over HTTP", async (t, sdb: StackDb) => {
  await sdb.offline(installProbe);
  const meta = fakeMeta(WA_TOKEN);
  const env = {
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    FEATURE_AGENT_CHAT: "true",
    FEATURE_AGENT_VOUCHERS: "true",
    WEBHOOK_RETRY_INTERVAL_MS: "off",
  };
  let stack: HttpStack | null = await sdb.start(env);
  try {
    const s = stack;
    const fn = (path: string) => `${s.base}/functions/v1${path}`;
    const call = async (path: string, init: RequestInit & { token?: string; json?: unknown } = {}) => {
      const headers = new Headers(init.headers);
      if (init.token) headers.set("authorization", `Bearer ${init.token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(init.json);
      }
      const r = await fetchWithin(fn(path), { ...init, headers, body });
      const text = await r.text();
      return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null as Json };
    };
    const admin = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      call(`/flags-admin${path}`, { ...init, token: s.admin });
    const healthy = async (what: string) => {
      const r = await call("/health");
      eq([r.status, r.body.ok], [200, true], `health after ${what}: ${JSON.stringify(r.body)}`);
    };

    await t.step("hostile JSON is refused before the database; health stays up", async () => {
      const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
      const body = `{"key":"deep_flag","metadata":{"x":${deep(10_000)}}}`;
      assert(body.length < 64 * 1024, "under the body cap");
      let r = await admin("/flags", { method: "POST", body, headers: { "content-type": "application/json" } });
      eq([r.status, r.body.error.code], [400, "JSON_TOO_DEEP"], "deep metadata");
      await healthy("deep metadata");
      r = await admin("/flags", {
        method: "POST",
        json: { key: "deep_rules", rules: [{ condition: JSON.parse(`{"a":${deep(70)}}`) }] },
      });
      eq([r.status, r.body.error.code], [400, "JSON_TOO_DEEP"], "deep rules");
      r = await admin("/flags", { method: "POST", json: { key: "nul_flag", description: "a\u0000b" } });
      eq([r.status, r.body.error.code], [400, "INVALID_TEXT"], "U+0000 in a description");
      assert(/\$\.description/.test(r.body.error.message), r.body.error.message);
      r = await admin("/flags", {
        method: "POST",
        body: '{"key":"sur_flag","description":"\\ud800x"}',
        headers: { "content-type": "application/json" },
      });
      eq([r.status, r.body.error.code], [400, "INVALID_TEXT"], "a lone surrogate");
      r = await admin("/audit?actor=a%00b");
      eq([r.status, r.body.error.code], [400, "INVALID_TEXT"], "U+0000 in a query parameter");
      await healthy("U+0000");
      // Nothing was written, and the database still answers errors and successes.
      eq((await admin("/flags/deep_flag")).status, 404, "no deep_flag");
      eq((await admin("/audit?limit=1")).status, 200, "audit log reads");
      r = await admin("/flags", { method: "POST", json: { key: "after_hostile", description: "fine" } });
      eq(r.status, 201, "a normal write afterwards");
    });

    await t.step(
      "Idempotency-Keys belong to their caller; a retry with the phone written another way replays",
      async () => {
        const on = await admin("/flags/FEATURE_AGENT_VOUCHERS", { method: "PATCH", json: { adminOverride: "on" } });
        eq(on.status, 200, JSON.stringify(on.body));
        const keys = await localKeys(`${root}${sdb.dataDir}`);
        const other = await userToken(keys, "second-admin", { admin: true, issuer: LOCAL_ISSUER });
        const create = (token: string, phone: string) =>
          call("/ai-create-voucher", {
            method: "POST",
            token,
            headers: { "idempotency-key": "order-1234" },
            json: { phone, amount: 5000, currency: "RWF" },
          });
        const a = await create(s.admin, "+250788300001");
        eq([a.status, a.headers.get("idempotent-replayed")], [201, null], JSON.stringify(a.body));
        const b = await create(other, "+250788300001");
        eq([b.status, b.headers.get("idempotent-replayed")], [201, null], "another admin, same key: its own voucher");
        assert(b.body.voucher.id !== a.body.voucher.id, "not the first caller's voucher");
        assert(b.body.voucher.code !== a.body.voucher.code, "nor its code");
        const again = await create(s.admin, "+250 788 300 001");
        eq([again.status, again.headers.get("idempotent-replayed")], [201, "true"], JSON.stringify(again.body));
        eq(again.body.voucher.id, a.body.voucher.id, "the stored answer");
        const other2 = await create(s.admin, "+250788300009");
        eq([other2.status, other2.body.error.code], [409, "IDEMPOTENCY_KEY_REUSED"], "another request, same key");
      },
    );

    await t.step("webhooks: a malformed event never drops its valid neighbour", async () => {
      const good = { id: `wamid.FIND${Date.now()}A`, from: "250788300101", text: "hello" };
      const payload = waPayload([{ messages: [good] }]);
      // A second message with no sender and no id: malformed.
      payload.entry[0].changes[0].value.messages.push({ type: "text", text: { body: "x" } });
      const sent0 = meta.sent.length;
      const r = await deliver(s.base, payload);
      const body = await r.json();
      eq([r.status, body.events, body.recorded], [200, 1, 1], JSON.stringify(body));
      eq(
        meta.sent.slice(sent0).map((m) => [m.body.to, m.body.text.body]),
        [["250788300101", REPLIES.greet]],
        "the valid one answered",
      );
    });

    await t.step("DELETE without a body, as the dashboard sends it", async () => {
      eq((await admin("/flags", { method: "POST", json: { key: "to_delete" } })).status, 201);
      const put = await admin("/overrides", {
        method: "PUT",
        json: { flag: "FEATURE_AGENT_CHAT", unit: "u-del", enabled: false, reason: "test" },
      });
      eq(put.status, 201, JSON.stringify(put.body));
      const o = await admin("/overrides?flag=FEATURE_AGENT_CHAT&unit=u-del", { method: "DELETE" });
      eq([o.status, o.body.deleted], [200, { flag: "FEATURE_AGENT_CHAT", unit: "u-del" }], JSON.stringify(o.body));
      const f = await admin("/flags/to_delete", { method: "DELETE" });
      eq([f.status, f.body.deleted], [200, "to_delete"], JSON.stringify(f.body));
      const ack = await admin("/alerts/999999999/ack", { method: "POST" });
      eq(ack.status, 404, `ack without a body reaches the route: ${JSON.stringify(ack.body)}`);
    });

    await t.step("a rollout change while a schedule governs clears the elapsed steps, audited", async () => {
      const past = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const ahead = new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
      let r = await admin("/flags", {
        method: "POST",
        json: {
          key: "scheduled_ramp",
          enabled: true,
          rollout: 10,
          stages: [10, 50, 100],
          schedule: [{ at: past, rollout: 50 }, { at: ahead, rollout: 100 }],
        },
      });
      eq([r.status, r.body.flag?.effectiveRollout], [201, 50], JSON.stringify(r.body));
      r = await admin("/flags/scheduled_ramp", { method: "PATCH", json: { rollout: 100, reason: "healthy" } });
      eq(r.status, 200, JSON.stringify(r.body));
      eq([r.body.flag.rollout, r.body.flag.effectiveRollout], [100, 100], "stored and effective");
      eq(r.body.flag.schedule, [{ at: ahead, rollout: 100 }], "the step ahead stays");
      const audit = await admin("/audit?flag=scheduled_ramp&action=flag.schedule.cleared");
      eq(audit.body.entries.length, 1, "audited");
      eq(audit.body.entries[0].after.cleared, [{ at: past, rollout: 50 }], "with the steps removed");
      const contexts = Array.from({ length: 1000 }, (_, i) => ({ userId: `sched-${i}` }));
      const ev = await call("/flags", {
        method: "POST",
        token: s.secret,
        json: { contexts, flags: ["scheduled_ramp"] },
      });
      eq(ev.status, 200);
      const on = ev.body.results.filter((x: Json) => x.scheduled_ramp.enabled).length;
      eq(on, 1000, "every unit is on at 100 %");
    });

    await t.step("the publishable key sees client-visible flags only", async () => {
      const list = await admin("/flags");
      const visible = new Set(list.body.flags.filter((f: Json) => f.clientVisible).map((f: Json) => f.key));
      assert(list.body.flags.length > visible.size + 100, "there are hidden flags");
      const r = await call("/flags", { headers: { apikey: s.publishable } });
      eq(r.status, 200);
      const seen = Object.keys(r.body.flags);
      eq(seen.filter((k) => !visible.has(k)), [], "no hidden flag");
      assert(seen.includes("FEATURE_AGENT_CHAT"), "client-visible flags are there");
      const hidden = await call("/flags?flags=FEATURE_AGENT_VOUCHERS", { headers: { apikey: s.publishable } });
      eq([hidden.status, hidden.body.error.code], [404, "UNKNOWN_FLAG"], "naming a hidden flag");
    });

    await t.step("flags-admin answers only its own origin; the dashboard has a strict CSP", async () => {
      const pre = (origin: string) =>
        fetchWithin(fn("/flags-admin/flags"), {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "PATCH" },
        });
      let r = await pre("https://evil.example");
      await r.body?.cancel();
      eq(r.headers.get("access-control-allow-origin"), null, "a foreign origin");
      r = await pre(s.base);
      await r.body?.cancel();
      eq(r.headers.get("access-control-allow-origin"), s.base, "the dashboard's own origin");
      const flags = await fetchWithin(fn("/flags"), { headers: { origin: "https://app.example" } });
      await flags.body?.cancel();
      eq(flags.headers.get("access-control-allow-origin"), "*", "the public function stays open");
      const page = await fetchWithin(`${s.base}/admin/`);
      await page.body?.cancel();
      const csp = page.headers.get("content-security-policy") ?? "";
      for (const d of ["default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'"]) {
        assert(csp.includes(d), `CSP has ${d}: ${csp}`);
      }
      eq([page.headers.get("x-content-type-options"), page.headers.get("x-frame-options")], ["nosniff", "DENY"]);
    });

    await t.step("an admin write reads the rows it changes, not every flag", async () => {
      for (let i = 0; i < PROBE_WRITES; i++) {
        const r = await admin("/flags", { method: "POST", json: { key: `probe_${i}`, reason: "scale-probe" } });
        eq(r.status, 201, JSON.stringify(r.body));
      }
      const patched = await admin("/flags/probe_0", { method: "PATCH", json: { rollout: 5, reason: "scale-probe" } });
      eq(patched.status, 200);
    });

    await t.step(
      "webhooks: while the database is out, 503 and nothing lost; delivered again, processed once",
      async () => {
        const msgs = Array.from(
          { length: 5 },
          (_, i) => ({ id: `wamid.OUT${Date.now()}${i}`, from: `25078830020${i}`, text: "hello" }),
        );
        const deliveries = msgs.map((m) => waPayload([{ messages: [m] }]));
        const sent0 = meta.sent.length;
        if (sdb.kind === "postgres") await sdb.pg!.pause!();
        else {
          // The embedded database cannot be opened: its directory is taken by a file.
          await s.stop();
          stack = null;
          await Deno.rename(`${root}${sdb.dataDir}/pglite`, `${root}${sdb.dataDir}/pglite.moved`);
          await Deno.writeTextFile(`${root}${sdb.dataDir}/pglite`, "not a database");
          stack = await sdb.start(env);
        }
        const out = stack!;
        try {
          for (const d of deliveries) {
            const r = await deliver(out.base, d);
            const body = await r.json();
            eq([r.status, body.error?.code], [503, "EVENTS_NOT_RECORDED"], JSON.stringify(body));
          }
          eq(meta.sent.length, sent0, "nothing sent, no 'sorry' either");
        } finally {
          if (sdb.kind === "postgres") await sdb.pg!.resume!();
          else {
            await out.stop();
            stack = null;
            await Deno.remove(`${root}${sdb.dataDir}/pglite`);
            await Deno.rename(`${root}${sdb.dataDir}/pglite.moved`, `${root}${sdb.dataDir}/pglite`);
            stack = await sdb.start(env);
          }
        }
        const back = stack!;
        for (const d of deliveries) {
          const r = await deliver(back.base, d);
          const body = await r.json();
          eq([r.status, body.recorded], [200, 1], JSON.stringify(body));
        }
        eq(
          meta.sent.slice(sent0).map((m) => m.body.to).sort(),
          msgs.map((m) => m.from).sort(),
          "each message answered once",
        );
      },
    );

    await t.step("SIGTERM stops the stack", async () => {
      const status = await stack!.stop();
      stack = null;
      eq(status.success, true, "exit 0");
    });
  } finally {
    await stack?.kill();
    await meta.close();
  }
  const reads = await sdb.offline(probeReads);
  // The first write may read every flag once (the isolate builds its model); each later one reads
  // the rows it changes (a handful), where a full reload would read FILLER + a dozen each time.
  assert(reads <= FILLER + 20 + PROBE_WRITES * 6, `rows read by ${PROBE_WRITES + 1} probed writes: ${reads}`);
  assert(reads > 0, "the probe counts");
});
