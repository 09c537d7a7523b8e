// The `flags` and `health` functions, in-process, against PGlite and a real Debian Postgres:
// identity from the JWT, server evaluation, the browser snapshot with ETag/304, service-role
// batches, bad input, expired overrides, a change reaching the cache within its TTL, and (Postgres)
// stale serving while the database is down, then recovery.
import "../../supabase/functions/_shared/platform/routed.ts";
import flags from "../../supabase/functions/flags/index.ts";
import health from "../../supabase/functions/health/index.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { openDb } from "../../scripts/dev/db.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import { useDb } from "../../supabase/functions/_shared/platform/store.ts";
import { bucket, FlagEngine } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { assert, call, configVersion as version, eq, eventually, onBothBackends, req, type Tokens } from "./support.ts";

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  await t.step("identity: anon has no unit, a bad token is a 401", async () => {
    const anon = await call(flags, req("/flags"));
    eq(anon.status, 200, "anon GET");
    eq(anon.body.flags.FEATURE_AGENT_CHAT.reason, "MISSING_UNIT", "anon has no userId");
    const bad = await call(flags, req("/flags", { token: tk.admin.slice(0, -3) + "abc" }));
    eq(bad.status, 401, "tampered token");
    eq(bad.body.error.code, "BAD_SIGNATURE", "code");
    const junk = await call(flags, req("/flags", { headers: { authorization: "Basic abc" } }));
    eq(junk.status, 401, "not a bearer token");
  });

  await t.step("GET evaluates the caller's flags on the server: a user the client-visible ones", async () => {
    const r = await call(flags, req("/flags", { token: await tk.user("user-7") }));
    eq(r.status, 200, "status");
    eq(r.body.version, await version(db), "version");
    eq(r.headers.get("x-trimtab-stale"), "false", "fresh");
    const f = r.body.flags;
    const visible = (await db.query<{ key: string }>(
      "select key from trimtab.feature_flags where client_visible order by key",
    )).map((x) => x.key);
    eq(Object.keys(f).sort(), visible, "a signed-in user: the client-visible flags, as RLS shows them");
    const hidden = await call(flags, req("/flags?flags=FEATURE_AGENT_VOICE", { token: await tk.user("user-7") }));
    eq([hidden.status, hidden.body.error?.code], [404, "UNKNOWN_FLAG"], "a hidden flag is not there for a user");
    eq([f.FEATURE_AGENT_CHAT.enabled, f.FEATURE_AGENT_CHAT.reason], [true, "ROLLOUT"], "100 %");
    const all = await call(flags, req("/flags", { token: tk.admin }));
    eq(Object.keys(all.body.flags).length, 11, "an admin: every seeded flag");
    const voice = all.body.flags.FEATURE_AGENT_VOICE;
    eq([voice.enabled, voice.reason], [false, "DISABLED"], "disabled");
    const b = bucket("USE_OPTIMIZED_PROMPTS", "user-7");
    eq(f.USE_OPTIMIZED_PROMPTS.bucket, b, "bucket from the shared function");
    eq(f.USE_OPTIMIZED_PROMPTS.enabled, b < 250_000, "25 % rollout");
    // user-42 has a demo override; an @trimtab.dev email matches phoenix's rule.
    const u42 = await call(flags, req("/flags", { token: await tk.user("user-42") }));
    eq(u42.body.flags.phoenix_pipeline_enabled.reason, "USER_OVERRIDE", "override");
    eq(u42.body.flags.phoenix_pipeline_enabled.enabled, false, "override value");
    const staff = await call(flags, req("/flags", { token: await tk.user("u-9", { email: "ana@trimtab.dev" }) }));
    eq(staff.body.flags.phoenix_pipeline_enabled.reason, "RULE_MATCH", "email from the JWT");
    eq(staff.body.flags.phoenix_pipeline_enabled.enabled, true, "rule rollout 100");
    // attributes set by an admin in app_metadata.trimtab target; user_metadata does not (the
    // demo's country rule is on USE_RESPONSE_CACHE, shown to users for this part only).
    await db.query("update trimtab.feature_flags set client_visible = true where key = 'USE_RESPONSE_CACHE'");
    invalidate();
    const rw = await call(
      flags,
      req("/flags?flags=USE_RESPONSE_CACHE", {
        token: await tk.user("u-10", { extra: { app_metadata: { trimtab: { country: "RW" } } } }),
      }),
    );
    eq(Object.keys(rw.body.flags), ["USE_RESPONSE_CACHE"], "?flags= filter");
    eq(rw.body.flags.USE_RESPONSE_CACHE.reason, "RULE_MATCH", "app_metadata attribute");
    const um = await call(
      flags,
      req("/flags?flags=USE_RESPONSE_CACHE", {
        token: await tk.user("u-10", { extra: { user_metadata: { country: "RW" } } }),
      }),
    );
    eq(um.body.flags.USE_RESPONSE_CACHE.reason === "RULE_MATCH", false, "user_metadata is ignored");
    await db.query("update trimtab.feature_flags set client_visible = false where key = 'USE_RESPONSE_CACHE'");
    invalidate();
  });

  await t.step("GET ?flags= with an unknown key is a 404; wrong method a 405", async () => {
    const r = await call(flags, req("/flags?flags=FEATURE_AGENT_CHAT,nope", { token: await tk.user("u") }));
    eq([r.status, r.body.error.code], [404, "UNKNOWN_FLAG"], "unknown flag");
    const m = await call(flags, req("/flags", { method: "DELETE", token: tk.admin }));
    eq([m.status, m.body.error.code], [405, "METHOD_NOT_ALLOWED"], "DELETE");
    assert(m.headers.get("allow")?.includes("POST"), "Allow header");
    const p = await call(flags, req("/flags/extra", { token: tk.admin }));
    eq(p.status, 404, "unknown sub-path");
  });

  await t.step("snapshot: client-visible flags, own overrides only, ETag and 304", async () => {
    const clientKeys = (await db.query<{ key: string }>(
      "select key from trimtab.feature_flags where client_visible order by key",
    )).map((r) => r.key);
    const u42 = await call(flags, req("/flags?snapshot=1", { token: await tk.user("user-42") }));
    eq(u42.status, 200, "status");
    eq(u42.body.flags.map((f: { key: string }) => f.key), clientKeys, "only client-visible flags");
    eq(u42.body.overrides.map((o: { unit: string }) => o.unit), ["user-42"], "own override");
    const u7 = await call(flags, req("/flags?snapshot=1", { token: await tk.user("user-7") }));
    eq(u7.body.overrides, [], "no one else's overrides");
    const etag = u42.headers.get("etag");
    assert(etag && /^"\d+-[0-9a-f]{24}"$/.test(etag), `etag ${etag}`);
    assert(etag !== u7.headers.get("etag"), "per-caller ETag");
    const again = await flags(
      req("/flags?snapshot=1", { token: await tk.user("user-42"), headers: { "if-none-match": etag } }),
    );
    eq(again.status, 304, "If-None-Match");
    eq(await again.text(), "", "304 has no body");
    eq(again.headers.get("etag"), etag, "304 repeats the ETag");
    // The browser evaluates what the server evaluates.
    const engine = new FlagEngine(u42.body);
    const server = await call(flags, req("/flags", { token: await tk.user("user-42") }));
    for (const k of clientKeys) {
      const local = engine.evaluate(k, { userId: "user-42" });
      eq([local.enabled, local.variant, local.reason], [
        server.body.flags[k].enabled,
        server.body.flags[k].variant,
        server.body.flags[k].reason,
      ], `parity ${k}`);
    }
    engine.free();
    // A change moves the ETag; the old one gets the new body.
    await db.query("update trimtab.feature_flags set rollout_percentage = 50 where key = 'USE_OPTIMIZED_PROMPTS'");
    const ok = await eventually(async () => {
      const r = await flags(
        req("/flags?snapshot=1", { token: await tk.user("user-42"), headers: { "if-none-match": etag } }),
      );
      await r.body?.cancel();
      return r.status === 200 && r.headers.get("etag") !== etag;
    }, 2000);
    assert(ok, "a change is served (new ETag) within 2 s, without this isolate being told");
  });

  await t.step("service role POSTs contexts; users and anon may not", async () => {
    const single = await call(flags, req("/flags", { token: tk.service, body: { context: { userId: "user-7" } } }));
    eq(single.status, 200, "single");
    const get7 = await call(flags, req("/flags", { token: await tk.user("user-7") }));
    const visible = Object.keys(get7.body.flags);
    eq(
      Object.fromEntries(visible.map((k) => [k, single.body.flags[k]])),
      get7.body.flags,
      "same answer as the user's own GET (which holds the client-visible flags)",
    );
    const units = Array.from({ length: 200 }, (_, i) => `unit-${i}`);
    const batch = await call(
      flags,
      req("/flags", {
        token: tk.service,
        body: { contexts: units.map((userId) => ({ userId })), flags: ["USE_OPTIMIZED_PROMPTS"] },
      }),
    );
    eq(batch.body.results.length, 200, "batch");
    const on = batch.body.results.filter((r: Record<string, { enabled: boolean }>) => r.USE_OPTIMIZED_PROMPTS.enabled);
    const expected = units.filter((u) => bucket("USE_OPTIMIZED_PROMPTS", u) < 500_000);
    eq(on.length, expected.length, "50 % by the shared bucket");
    const user = await call(flags, req("/flags", { token: await tk.user("u"), body: { context: {} } }));
    eq([user.status, user.body.error.code], [403, "FORBIDDEN"], "user POST");
    const anon = await call(flags, req("/flags", { body: { context: {} } }));
    eq(anon.status, 401, "anon POST");
  });

  await t.step("bad POST bodies get 4xx with stable codes", async () => {
    const cases: [unknown, number, string][] = [
      ["{not json", 400, "BAD_JSON"],
      ["", 400, "BAD_JSON"],
      [[1], 400, "INVALID_INPUT"],
      [{ context: {}, extra: 1 }, 400, "UNKNOWN_FIELD"],
      [{}, 400, "INVALID_INPUT"],
      [{ context: "user-1" }, 400, "INVALID_CONTEXT"],
      [{ contexts: {} }, 400, "INVALID_INPUT"],
      [{ contexts: [{}, null] }, 400, "INVALID_CONTEXT"],
      [{ context: { userId: "u", now: "yesterday" } }, 400, "INVALID_DATE"],
      [{ context: {}, flags: ["nope"] }, 404, "UNKNOWN_FLAG"],
      [{ contexts: Array.from({ length: 1001 }, () => ({})) }, 400, "INVALID_INPUT"],
      [JSON.stringify({ context: { pad: "x".repeat(1100 * 1024) } }), 413, "PAYLOAD_TOO_LARGE"],
    ];
    for (const [body, status, code] of cases) {
      const r = await call(flags, req("/flags", { token: tk.service, method: "POST", body }));
      eq([r.status, r.body?.error?.code], [status, code], `body ${String(JSON.stringify(body)).slice(0, 40)}`);
    }
    const typed = await call(
      flags,
      req("/flags", {
        token: tk.service,
        body: "{}",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    eq(typed.status, 415, "content type");
  });

  await t.step("expired overrides are ignored", async () => {
    await db.query(
      `insert into trimtab.user_feature_overrides (flag_key, unit, enabled, expires_at, reason) values
       ('FEATURE_AGENT_CHAT', 'exp-1', false, now() - interval '1 minute', 'expired'),
       ('FEATURE_AGENT_CHAT', 'exp-2', false, now() + interval '1 hour', 'active')`,
    );
    const v = await version(db);
    const seen = await eventually(
      async () => (await call(flags, req("/flags", { token: tk.admin }))).body.version === v,
      2000,
    );
    assert(seen, "new version served");
    const e1 = await call(flags, req("/flags", { token: await tk.user("exp-1") }));
    eq(
      [e1.body.flags.FEATURE_AGENT_CHAT.reason, e1.body.flags.FEATURE_AGENT_CHAT.enabled],
      ["ROLLOUT", true],
      "expired",
    );
    const e2 = await call(flags, req("/flags", { token: await tk.user("exp-2") }));
    eq(e2.body.flags.FEATURE_AGENT_CHAT.reason, "USER_OVERRIDE", "active");
    const later = new Date(Date.now() + 2 * 3600_000).toISOString();
    const e2later = await call(
      flags,
      req("/flags", { token: tk.service, body: { context: { userId: "exp-2", now: later } } }),
    );
    eq(e2later.body.flags.FEATURE_AGENT_CHAT.reason, "ROLLOUT", "ignored once its expiry passes");
    const snap = await call(flags, req("/flags?snapshot=1", { token: await tk.user("exp-1") }));
    eq(snap.body.overrides, [], "expired override not in the browser snapshot");
  });

  await t.step("health reports the database, the snapshot and the version", async () => {
    const h = await call(health, req("/health"));
    eq(h.status, 200, "healthy");
    eq([h.body.ok, h.body.db.reachable, h.body.db.kind, h.body.snapshot.stale], [true, true, db.kind, false], "body");
    eq(h.body.snapshot.version, await version(db), "snapshot version");
    assert(typeof h.body.snapshot.ageMs === "number" && h.body.snapshot.ageMs >= 0, "age");
    const post = await call(health, req("/health", { method: "POST", body: {} }));
    eq(post.status, 405, "health is GET only");
  });
}

onBothBackends("flags + health", checks, {
  async pglite(t, _db, tk) {
    await t.step("no snapshot yet and no database: 503, no internals", async () => {
      const dead = await openDb({ url: "", dataDir: "memory://" });
      await dead.close();
      useDb(dead);
      const r = await call(flags, req("/flags", { token: tk.admin }));
      eq([r.status, r.body.error.code], [503, "SNAPSHOT_UNAVAILABLE"], "unavailable");
      const h = await call(health, req("/health"));
      eq([h.status, h.body.ok, h.body.db.reachable], [503, false, false], "health");
      assert(!JSON.stringify(h.body).match(/select|stack|at \w+ \(/i), "no SQL or stack in health");
    });
  },
  async postgres(t, db, tk, pg) {
    if (!pg.pause || !pg.resume) return;
    await t.step("database stopped: the last good snapshot serves, marked stale; recovery", async () => {
      const before = await call(flags, req("/flags", { token: await tk.user("user-7") }));
      await pg.pause!();
      await new Promise((r) => setTimeout(r, 1100)); // past the cache TTL
      const during = await call(flags, req("/flags", { token: await tk.user("user-7") }));
      eq(during.status, 200, "still serving");
      eq(during.headers.get("x-trimtab-stale"), "true", "says stale");
      assert(Number(during.headers.get("x-trimtab-snapshot-age")) >= 1000, "snapshot age");
      eq(during.body.stale, true, "body says stale");
      eq(during.body.flags, before.body.flags, "same evaluations as before the outage");
      const snap = await call(flags, req("/flags?snapshot=1", { token: await tk.user("user-7") }));
      eq([snap.status, snap.headers.get("x-trimtab-stale")], [200, "true"], "snapshot served stale");
      const h = await call(health, req("/health"));
      eq([h.status, h.body.db.reachable, h.body.snapshot.stale], [503, false, true], "health during outage");
      assert(
        !JSON.stringify(h.body).includes("ECONNREFUSED ") && !JSON.stringify(h.body).includes("select"),
        "no internals",
      );
      await pg.resume!();
      const back = await eventually(
        async () => {
          const r = await call(flags, req("/flags", { token: await tk.user("user-7") }));
          return r.headers.get("x-trimtab-stale") === "false";
        },
        10_000,
        100,
      );
      assert(back, "fresh again after the database returns");
      await db.query("update trimtab.feature_flags set enabled = false where key = 'FEATURE_AGENT_CHAT'");
      const seen = await eventually(async () => {
        const r = await call(flags, req("/flags", { token: await tk.user("user-7") }));
        return r.body.flags.FEATURE_AGENT_CHAT.reason === "DISABLED";
      }, 2000);
      assert(seen, "changes after recovery are served");
    });
  },
});
