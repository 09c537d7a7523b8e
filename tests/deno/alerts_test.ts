// Alerts that reach people, on PGlite and a real Debian Postgres, with local receivers: the outbox
// retried with exponential backoff on an injected clock until delivered or given up; one alert per
// flag and reason within the window (a critical one still follows a warning); GET
// /flags-admin/alerts with its filters, cursor paging and acknowledgement; destinations managed
// through flags-admin (secrets named, never taken or shown), with a test delivery; guard settings
// refused by the admin API with INVALID_THRESHOLD. On Postgres also: a signing secret read from
// Vault (a stand-in with Vault's view signature), and "flag service down": with the database
// paused, the config cache serves stale, the alert is delivered from memory to the destination set
// in the environment and stored once the database is back, with its delivery and a recovery alert.
import "../../supabase/functions/_shared/platform/routed.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import { currentConfig, invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import { backoffMs, deliverDue, pendingAlerts, raiseAlert } from "../../supabase/functions/_shared/platform/alerts.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { resetSecrets } from "../../supabase/functions/_shared/platform/notify.ts";
import { alertReceiver, webhookSecret } from "./fakes.ts";
import { adminApi, assert, envScope, eq, eventually, logCapture, onBothBackends, type Tokens } from "./support.ts";

import type { Json } from "./support.ts";

const { sink } = logCapture();
const envs = envScope();

const deliveryOf = async (db: Db, alertId: string) =>
  (await db.query<Json>("select * from trimtab.alert_deliveries where alert_id = $1 order by id", [alertId]))[0];

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const secret = webhookSecret();
  const hook = alertReceiver(secret);
  const prevSink = setLogSink(sink);
  envs.set({
    TRIMTAB_ALERT_SECRETS: JSON.stringify({ HOOK_KEY: secret }),
    TRIMTAB_ALERT_RETRY_BASE_MS: "30000",
    TRIMTAB_ALERT_RETRY_MAX_MS: "3600000",
    TRIMTAB_ALERT_MAX_ATTEMPTS: "4",
    TRIMTAB_ALERT_DEDUP_MS: "3600000",
  });
  const admin = adminApi(flagsAdmin, tk);
  try {
    let hookId = "";
    await t.step("destinations: created through flags-admin, secrets named and never shown", async () => {
      const bad = async (body: Json, code = "INVALID_INPUT") => {
        const r = await admin("/alert-destinations", { method: "POST", body });
        eq([r.status, r.body.error?.code], [400, code], JSON.stringify(body));
        return r.body.error.message as string;
      };
      assert(/signingSecret/.test(await bad({ name: "x", kind: "webhook", url: hook.url })), "webhooks are signed");
      assert(
        /secret/.test(await bad({ name: "x", kind: "slack", url: "https://hooks.slack.com/services/a" })),
        "slack",
      );
      assert(/name a secret/.test(await bad({ name: "x", kind: "webhook", url: hook.url, signingSecret: secret })));
      await bad({ name: "x", kind: "pager", url: hook.url, signingSecret: "HOOK_KEY" });
      await bad({ name: "x", kind: "webhook", url: "ftp://x", signingSecret: "HOOK_KEY" });
      await bad({ name: "x", kind: "webhook", url: hook.url, signingSecret: "HOOK_KEY", nope: 1 }, "UNKNOWN_FIELD");
      const r = await admin("/alert-destinations", {
        method: "POST",
        body: { name: "pager", kind: "webhook", url: `${hook.url}/in`, signingSecret: "HOOK_KEY", minSeverity: "info" },
      });
      eq(r.status, 201);
      hookId = r.body.destination.id;
      eq(r.body.destination.secretsPresent, { url: true, signing: true }, "secrets found");
      assert(!JSON.stringify(r.body).includes(secret), "the secret is never returned");
      const dup = await admin("/alert-destinations", {
        method: "POST",
        body: { name: "pager", kind: "webhook", url: hook.url, signingSecret: "HOOK_KEY" },
      });
      eq([dup.status, dup.body.error.code], [409, "DESTINATION_EXISTS"]);
      const missing = await admin("/alert-destinations", {
        method: "POST",
        body: { name: "unset", kind: "webhook", url: hook.url, signingSecret: "NOT_SET", enabled: false },
      });
      eq(missing.body.destination.secretsPresent, { url: true, signing: false }, "a missing secret is reported");
      eq((await admin("/alert-destinations")).body.destinations.length, 2, "list");
      eq((await admin("/alert-destinations", { token: await tk.user("u7") })).status, 403, "users refused");
      const test = await admin(`/alert-destinations/${hookId}/test`, { method: "POST" });
      eq([test.status, test.body.delivered], [200, true], "test delivery");
      assert(hook.received.at(-1)!.verified && hook.received.at(-1)!.body.data.kind === "test", "signed test alert");
      eq((await admin(`/alert-destinations/${missing.body.destination.id}`, { method: "DELETE" })).status, 200);
      eq((await admin("/alert-destinations/999999", { method: "DELETE" })).status, 404);
    });

    await t.step("one alert per flag and reason within the window; a critical one follows a warning", async () => {
      const t0 = Date.now();
      const a = { kind: "p95_latency", flag: "dedup_flag", message: "p95 high" } as const;
      const first = await db.tx((tx) => raiseAlert(tx, { ...a, severity: "warning" }, t0));
      assert(first, "first stored");
      eq(await db.tx((tx) => raiseAlert(tx, { ...a, severity: "warning" }, t0 + 60_000)), null, "a repeat is dropped");
      assert(await db.tx((tx) => raiseAlert(tx, { ...a, severity: "critical" }, t0 + 120_000)), "escalation kept");
      eq(await db.tx((tx) => raiseAlert(tx, { ...a, severity: "warning" }, t0 + 180_000)), null, "below the last");
      assert(await db.tx((tx) => raiseAlert(tx, { ...a, severity: "warning" }, t0 + 3_800_000)), "after the window");
      assert(
        await db.tx((tx) => raiseAlert(tx, { ...a, flag: "other_flag", severity: "warning" }, t0)),
        "per flag",
      );
      hook.clock = () => t0 + 3_800_000;
      eq((await deliverDue(db, t0 + 3_800_000)).delivered, 4, "each stored one delivered");
      hook.clock = () => Date.now();
    });

    await t.step("the outbox retries with exponential backoff, then delivers; gives up after the limit", async () => {
      const t0 = Date.now() + 10_000_000;
      hook.clock = () => t0;
      hook.fail = { count: 2, status: 503 };
      const a = await db.tx((tx) =>
        raiseAlert(tx, { kind: "error_rate", flag: "retry_flag", severity: "critical", message: "x" }, t0)
      );
      const n0 = hook.received.length;
      eq((await deliverDue(db, t0)).retrying, 1, "first attempt fails");
      let d = await deliveryOf(db, a!.id);
      eq([Number(d.attempts), Number(d.last_status), d.last_error], [1, 503, "HTTP 503"]);
      eq(new Date(d.next_attempt_at).getTime(), t0 + 30_000, "retry after the base delay");
      eq((await deliverDue(db, t0 + 29_000)).attempted, 0, "not due yet");
      hook.clock = () => t0 + 30_000;
      await deliverDue(db, t0 + 30_000);
      d = await deliveryOf(db, a!.id);
      eq(new Date(d.next_attempt_at).getTime(), t0 + 30_000 + 60_000, "then twice the delay");
      hook.clock = () => t0 + 90_000;
      eq((await deliverDue(db, t0 + 90_000)).delivered, 1, "third attempt delivers");
      d = await deliveryOf(db, a!.id);
      eq([Number(d.attempts), Number(d.last_status), d.last_error, d.next_attempt_at], [3, 200, null, null]);
      eq(new Date(d.delivered_at).getTime(), t0 + 90_000, "delivered at the clock");
      const got = hook.received.slice(n0);
      eq(got.length, 3, "three attempts reached the receiver");
      eq(new Set(got.map((r) => r.headers["webhook-id"])).size, 1, "one webhook-id for every attempt");
      assert(got.every((r) => r.verified), "each attempt signed at its own time");
      eq([backoffMs(1), backoffMs(2), backoffMs(30)], [30_000, 60_000, 3_600_000], "doubling, capped");

      hook.fail = { count: 10, status: 500 };
      const b = await db.tx((tx) =>
        raiseAlert(tx, { kind: "error_rate", flag: "give_up_flag", severity: "critical", message: "y" }, t0)
      );
      let now = t0;
      for (let i = 0; i < 4; i++) {
        await deliverDue(db, now);
        now += 3_600_000;
      }
      d = await deliveryOf(db, b!.id);
      eq([Number(d.attempts), d.next_attempt_at, d.delivered_at], [4, null, null], "four attempts, then stop");
      assert(d.given_up_at !== null, "given up");
      eq((await deliverDue(db, now + 10 * 3_600_000)).attempted, 0, "never again");
      hook.fail = { count: 0, status: 500 };
      hook.clock = () => Date.now();
    });

    await t.step("GET /flags-admin/alerts: filters, cursor paging, acknowledgement", async () => {
      const all = await admin("/alerts?flag=dedup_flag");
      eq(all.status, 200);
      eq(all.body.alerts.map((a: Json) => a.severity), ["warning", "critical", "warning"], "newest first");
      eq(all.body.alerts[0].deliveries[0].name, "pager", "deliveries listed");
      const crit = await admin("/alerts?flag=dedup_flag&level=critical");
      eq(crit.body.alerts.length, 1, "by level");
      const page1 = await admin("/alerts?kind=p95_latency&limit=2");
      eq(page1.body.alerts.length, 2);
      assert(page1.body.next, "a cursor");
      const page2 = await admin(`/alerts?kind=p95_latency&limit=2&before=${page1.body.next}`);
      eq(page2.body.alerts.length, 2, "the next page");
      assert(Number(page2.body.alerts[0].id) < Number(page1.body.next), "older");
      const id = crit.body.alerts[0].id;
      const ack = await admin(`/alerts/${id}/ack`, { method: "POST", body: { note: "looking into it" } });
      eq(ack.status, 200);
      eq([ack.body.alert.acknowledgedBy, ack.body.alert.ackNote], ["admin-1", "looking into it"], "who and why");
      assert(ack.body.alert.acknowledgedAt, "when");
      eq((await admin("/alerts?flag=dedup_flag&acknowledged=true")).body.alerts.map((a: Json) => a.id), [id]);
      eq((await admin("/alerts?flag=dedup_flag&acknowledged=false")).body.alerts.length, 2);
      const undo = await admin(`/alerts/${id}`, { method: "PATCH", body: { acknowledged: false } });
      eq(undo.body.alert.acknowledgedAt, null, "un-acknowledged");
      for (
        const q of ["level=loud", "acknowledged=yes", "limit=0", "before=x", "since=yesterday", "flag=bad%20key"]
      ) eq((await admin(`/alerts?${q}`)).status, 400, q);
      eq((await admin("/alerts/123456789/ack", { method: "POST" })).status, 404, "unknown alert");
      eq((await admin("/alerts", { token: null })).status, 401, "no token");
      eq((await admin("/alerts", { token: await tk.user("u7") })).status, 403, "a user");
      eq((await admin("/alerts", { method: "DELETE" })).status, 405, "method");
    });

    await t.step("metadata.guard: the admin API refuses what the core refuses (INVALID_THRESHOLD)", async () => {
      const patch = (guard: unknown) =>
        admin("/flags/phoenix_pipeline_enabled", { method: "PATCH", body: { metadata: { guard } } });
      for (const g of [{ p95WarnMs: 1 }, { maxErrorRate: "10%" }, { p95WarningMs: 9000 }, { minSample: 1.5 }, [1]]) {
        const r = await patch(g);
        eq([r.status, r.body.error.code], [400, "INVALID_THRESHOLD"], JSON.stringify(g));
      }
      const ok = await patch({ p95WarningMs: 2500, requireCutover: true, maxLatencyRatio: 1000 });
      eq(ok.status, 200);
      eq(ok.body.flag.metadata.guard.p95WarningMs, 2500);
    });
  } finally {
    setLogSink(prevSink);
    envs.restore();
    await hook.close();
  }
}

onBothBackends("alerts", checks, {
  postgres: async (t, db, tk, pg) => {
    const admin = adminApi(flagsAdmin, tk);
    const secret = webhookSecret();
    const hook = alertReceiver(secret);
    const prevSink = setLogSink(sink);
    try {
      await t.step("a signing secret read from Vault (stand-in with Vault's view signature)", async () => {
        await db.exec(`create schema if not exists vault;
          create table vault.decrypted_secrets (name text primary key, decrypted_secret text);`);
        await db.query("insert into vault.decrypted_secrets values ('VAULT_HOOK_KEY', $1)", [secret]);
        resetSecrets();
        const r = await admin("/alert-destinations", {
          method: "POST",
          body: { name: "vaulted", kind: "webhook", url: hook.url, signingSecret: "VAULT_HOOK_KEY" },
        });
        eq(r.body.destination.secretsPresent, { url: true, signing: true }, "found in Vault");
        const test = await admin(`/alert-destinations/${r.body.destination.id}/test`, { method: "POST" });
        eq(test.body.delivered, true);
        assert(hook.received.at(-1)!.verified, "signed with the Vault secret");
        await db.exec("drop schema vault cascade");
        resetSecrets();
      });

      await t.step("flag service down: delivered from memory while the database is away, stored after", async () => {
        envs.set({
          TRIMTAB_ALERT_WEBHOOK_URL: `${hook.url}/env`,
          TRIMTAB_ALERT_WEBHOOK_SECRET: secret,
          TRIMTAB_STALE_ALERT_MS: "300",
        });
        invalidate();
        const before = await currentConfig();
        eq(before.stale, false, "fresh before");
        const n0 = hook.received.length;
        await pg.pause!();
        let stale = false;
        const alerted = await eventually(
          async () => {
            const view = await currentConfig(); // every call may try the database again
            stale ||= view.stale;
            return hook.received.slice(n0).some((r) => r.body?.data?.kind === "flag_service_down");
          },
          20_000,
          100,
        );
        assert(stale, "served the stale snapshot meanwhile");
        assert(alerted, "the alert reached the receiver with the database down");
        const got = hook.received.slice(n0).find((r) => r.body.data.kind === "flag_service_down")!;
        assert(got.verified, "signed");
        eq(got.body.data.severity, "critical");
        eq(pendingAlerts().length, 1, "kept in memory");
        await pg.resume!();
        assert(await eventually(async () => !(await currentConfig()).stale, 10_000, 100), "fresh again");
        const stored = await eventually(
          async () => {
            const rows = await db.query<Json>("select kind from trimtab.alerts where kind like 'flag_service_%'");
            return rows.length === 2;
          },
          20_000,
          100,
        );
        assert(stored, "stored once the database answered, with the recovery alert");
        const [down] = await db.query<Json>("select * from trimtab.alerts where kind = 'flag_service_down'");
        const [d] = await db.query<Json>(
          "select * from trimtab.alert_deliveries where alert_id = $1 and destination = 'env:webhook'",
          [down.id],
        );
        eq([d.destination, Number(d.last_status)], ["env:webhook", 200], "its delivery, as it went");
        assert(d.delivered_at !== null && d.next_attempt_at === null, "delivered from memory");
        eq(pendingAlerts().length, 0, "memory emptied");
      });
    } finally {
      setLogSink(prevSink);
      envs.restore();
      await hook.close();
    }
  },
});
