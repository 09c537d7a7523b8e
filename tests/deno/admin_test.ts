// The `flags-admin` function, in-process, against PGlite (in memory) and a real Debian Postgres
// (scripts/pg-test-server.sh): auth, CRUD, staged ramps (and forced skips, audited), rollback of
// one flag and of all flags (evaluation flips for many users at once), overrides with expiry,
// the audit log and its filters, and bad input that must leave the configuration untouched.
import "../../supabase/functions/_shared/platform/routed.ts";
import admin from "../../supabase/functions/flags-admin/index.ts";
import { build, currentConfig } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { loadSnapshot } from "../../supabase/functions/_shared/flags/snapshot.ts";
import { setLogLevel } from "../../supabase/functions/_shared/platform/log.ts";
import {
  adminApi,
  assert,
  auditCount,
  call,
  configVersion,
  eq,
  onBothBackends,
  req,
  testTokens,
  type Tokens,
} from "./support.ts";

import type { Json } from "./support.ts";

const version = configVersion;
const auditRows = (db: Db, where: string, params: unknown[] = []) =>
  db.query<Json>(`select * from trimtab.flag_audit_log where ${where} order by id`, params as never[]);
const flagRow = async (db: Db, key: string) =>
  (await db.query<Json>("select * from trimtab.feature_flags where key = $1", [key]))[0];

const USERS = Array.from({ length: 50 }, (_, i) => `load-user-${i}`);

async function evalAll(db: Db, key: string, units = USERS, now?: Date) {
  const c = build(await loadSnapshot(db, now ? { now } : {}));
  try {
    return units.map((u) => c.engine.evaluate(key, { userId: u }));
  } finally {
    c.engine.free();
  }
}

setLogLevel("warn"); // no access lines

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const api = adminApi(admin, tk);

  await t.step("auth: 401 without a token or with a bad signature, 403 for a plain user", async () => {
    const v0 = await version(db), a0 = await auditCount(db);
    const none = await api("/flags", { token: null });
    eq([none.status, none.body.error.code], [401, "UNAUTHORIZED"], "no token");
    const forged = tk.admin.slice(0, -4) + (tk.admin.endsWith("AAAA") ? "BBBB" : "AAAA");
    const sig = await api("/flags", { token: forged });
    eq([sig.status, sig.body.error.code], [401, "BAD_SIGNATURE"], "bad signature");
    const user = await tk.user("user-7");
    const plain = await api("/flags", { token: user });
    eq([plain.status, plain.body.error.code], [403, "FORBIDDEN"], "plain user");
    const write = await api("/flags/FEATURE_AGENT_CHAT", { token: user, method: "PATCH", body: { rollout: 1 } });
    eq([write.status, write.body.error.code], [403, "FORBIDDEN"], "plain user write");
    const anonWrite = await api("/rollback", { token: tk.anon, body: { all: true, reason: "x" } });
    eq([anonWrite.status, anonWrite.body.error.code], [401, "UNAUTHORIZED"], "anon key write");
    eq([await version(db), await auditCount(db)], [v0, a0], "refused calls change nothing");
    const svc = await api("/flags", { token: tk.service });
    eq(svc.status, 200, "service role may read");
  });

  await t.step("list and get: camelCase flags with normalised numbers", async () => {
    const list = await api("/flags");
    eq(list.status, 200, "list status");
    eq(list.body.version, await version(db), "version");
    const keys = list.body.flags.map((f: Json) => f.key);
    eq(keys.length, 11, "every seeded flag");
    assert(keys.includes("phoenix_pipeline_enabled") && keys.includes("FEATURE_AGENT_VOICE"), `keys ${keys}`);
    const one = await api("/flags/phoenix_pipeline_enabled");
    eq(one.status, 200, "get status");
    const f = one.body.flag;
    eq([f.key, f.enabled, f.adminOverride, f.rollout, f.stickiness, f.clientVisible], [
      "phoenix_pipeline_enabled",
      true,
      null,
      5,
      "userId",
      true,
    ], "fields");
    eq(f.stages, [0.1, 1, 5, 25, 50, 100], "stages as numbers");
    eq(f.prerequisites, [{ flag: "FEATURE_AGENT_CHAT", enabled: true }], "prerequisites as JSON");
    eq(
      f.metadata,
      {
        guard: { requireCutover: true, maxLatencyRatio: 1000, cutoverMaxLatencyRatio: 1000 }, // jsonb's key order
        migration: { minPerformanceGainPercent: -100 },
      },
      "metadata (the seed's guard and migration settings)",
    );
    assert(
      typeof f.createdAt === "string" && !Number.isNaN(Date.parse(f.createdAt)) && f.createdAt.endsWith("Z"),
      "createdAt ISO",
    );
    assert(typeof f.updatedAt === "string" && f.updatedAt.endsWith("Z"), "updatedAt ISO");
    const missing = await api("/flags/no_such_flag");
    eq([missing.status, missing.body.error.code], [404, "UNKNOWN_FLAG"], "unknown flag");
  });

  await t.step("create, update and delete, each audited with actor and reason", async () => {
    const v0 = Number(await version(db));
    eq((await currentConfig()).config.version, String(v0), "this isolate's cached config before");
    const made = await api("/flags", {
      body: {
        key: "admin_test_flag",
        description: "made by the admin test",
        enabled: true,
        rollout: 5,
        stages: [5, 25, 50, 100],
        metadata: { owner: "qa" },
        reason: "new test flag",
      },
    });
    eq(made.status, 201, `create: ${JSON.stringify(made.body)}`);
    eq([made.body.flag.key, made.body.flag.rollout, made.body.flag.stages, made.body.flag.metadata], [
      "admin_test_flag",
      5,
      [5, 25, 50, 100],
      { owner: "qa" },
    ], "created flag");
    eq(made.body.version, await version(db), "version returned");
    assert(Number(made.body.version) > v0, "version moved");
    // invalidate(): this isolate serves the change at once, not after the cache TTL.
    const cached = await currentConfig();
    eq([cached.config.version, cached.config.keys.has("admin_test_flag")], [made.body.version, true], "served at once");
    const [created] = await auditRows(db, "flag_key = 'admin_test_flag' and action = 'flag.create'");
    eq([created?.actor, created?.reason, String(created?.config_version)], [
      "admin-1",
      "new test flag",
      made.body.version,
    ], "create audit row");
    const again = await api("/flags", { body: { key: "admin_test_flag" } });
    eq([again.status, again.body.error.code], [409, "FLAG_EXISTS"], "create twice");

    const upd = await api("/flags/admin_test_flag", {
      method: "PATCH",
      body: { description: "changed", enabled: false, reason: "pause it" },
    });
    eq(upd.status, 200, `update: ${JSON.stringify(upd.body)}`);
    eq([upd.body.flag.description, upd.body.flag.enabled], ["changed", false], "updated fields");
    const row = await flagRow(db, "admin_test_flag");
    eq([row.description, row.enabled], ["changed", false], "stored");
    const [u] = await auditRows(db, "flag_key = 'admin_test_flag' and action = 'flag.update'");
    eq(
      [u?.actor, u?.reason, u?.before?.enabled, u?.after?.enabled],
      ["admin-1", "pause it", true, false],
      "update audit row",
    );
    await api("/flags/admin_test_flag", { method: "PATCH", body: { enabled: true } });

    await api("/flags", { body: { key: "doomed_flag", enabled: true, rollout: 10 } });
    await db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('doomed_flag', 'u1', true, 'x')",
    );
    const del = await api("/flags/doomed_flag?reason=no%20longer%20needed", { method: "DELETE" });
    eq([del.status, del.body.deleted], [200, "doomed_flag"], "delete");
    eq(del.body.version, await version(db), "delete version");
    eq(await flagRow(db, "doomed_flag"), undefined, "row gone");
    const [d] = await auditRows(db, "flag_key = 'doomed_flag' and action = 'flag.delete' and unit is null");
    eq([d?.actor, d?.reason], ["admin-1", "no longer needed"], "delete audit row");
    eq((await api("/flags/doomed_flag")).status, 404, "get after delete");
    const del2 = await api("/flags/doomed_flag", { method: "DELETE", body: { reason: "again" } });
    eq([del2.status, del2.body.error.code], [404, "UNKNOWN_FLAG"], "delete twice");
  });

  await t.step("ramps: skipping a stage is 409; the next stage is fine; force needs a reason", async () => {
    const v0 = await version(db), a0 = await auditCount(db);
    const skip = await api("/flags/admin_test_flag", { method: "PATCH", body: { rollout: 50 } });
    eq([skip.status, skip.body.error.code], [409, "RAMP_SKIPS_STAGE"], "5 -> 50");
    assert(/\b25%/.test(skip.body.error.message), `message names 25: ${skip.body.error.message}`);
    eq(skip.body.error.skipped, 25, "skipped stage");
    eq(Number((await flagRow(db, "admin_test_flag")).rollout_percentage), 5, "rollout unchanged");
    eq([await version(db), await auditCount(db)], [v0, a0], "nothing written");

    const next = await api("/flags/admin_test_flag", { method: "PATCH", body: { rollout: 25, reason: "stage 3" } });
    eq([next.status, next.body.flag.rollout], [200, 25], "5 -> 25");
    const [ramp] = await auditRows(db, "flag_key = 'admin_test_flag' and action = 'flag.ramp'");
    eq([ramp?.reason, Number(ramp?.before?.rollout_percentage), Number(ramp?.after?.rollout_percentage)], [
      "stage 3",
      5,
      25,
    ], "ramp audit row");

    const v1 = await version(db), a1 = await auditCount(db);
    const noReason = await api("/flags/admin_test_flag", { method: "PATCH", body: { rollout: 100, force: true } });
    eq([noReason.status, noReason.body.error.code], [400, "REASON_REQUIRED"], "force without reason");
    const blank = await api("/flags/admin_test_flag", {
      method: "PATCH",
      body: { rollout: 100, force: true, reason: "  " },
    });
    eq([blank.status, blank.body.error.code], [400, "REASON_REQUIRED"], "force with a blank reason");
    eq([await version(db), await auditCount(db)], [v1, a1], "nothing written");

    const forced = await api("/flags/admin_test_flag", {
      method: "PATCH",
      body: { rollout: 100, force: true, reason: "incident 42: ship the fix to everyone" },
    });
    eq([forced.status, forced.body.flag.rollout, forced.body.forced], [200, 100, true], "forced 25 -> 100");
    eq(Number((await flagRow(db, "admin_test_flag")).rollout_percentage), 100, "stored");
    const rows = await auditRows(db, "flag_key = 'admin_test_flag' and action = 'flag.ramp.forced'");
    eq(rows.length, 1, "one forced row");
    eq([rows[0].actor, rows[0].reason, rows[0].before.rollout, rows[0].after.rollout, rows[0].after.skipped], [
      "admin-1",
      "incident 42: ship the fix to everyone",
      25,
      100,
      50,
    ], "forced audit row");
    eq(String(rows[0].config_version), forced.body.version, "forced row carries the version");
    eq(await auditCount(db), a1 + 2, "the ramp row and the forced row");
    // Lowering is always allowed (a rollback of the ramp).
    const down = await api("/flags/admin_test_flag", { method: "PATCH", body: { rollout: 5 } });
    eq([down.status, down.body.flag.rollout], [200, 5], "100 -> 5");
  });

  await t.step("rollback of one flag flips evaluation for 50 users at once; PATCH null undoes it", async () => {
    const before = await evalAll(db, "USE_CIRCUIT_BREAKER");
    eq(before.filter((e) => e.enabled && e.reason === "ROLLOUT").length, 50, "all 50 enabled before");
    const v0 = Number(await version(db));
    const r = await api("/rollback", {
      token: tk.service,
      body: { flag: "USE_CIRCUIT_BREAKER", reason: "error spike" },
    });
    eq([r.status, r.body.flags], [200, ["USE_CIRCUIT_BREAKER"]], `rollback one: ${JSON.stringify(r.body)}`);
    eq(Number(r.body.version), v0 + 1, "one change");
    const overrides = await db.query<Json>("select key, admin_override from trimtab.feature_flags order by key");
    for (const o of overrides) {
      eq(o.admin_override, o.key === "USE_CIRCUIT_BREAKER" ? "off" : null, `admin_override of ${o.key}`);
    }
    const after = await evalAll(db, "USE_CIRCUIT_BREAKER");
    eq(after.filter((e) => !e.enabled && e.reason === "ADMIN_OVERRIDE").length, 50, "all 50 off by ADMIN_OVERRIDE");
    const audit = await auditRows(db, "action = 'flag.rollback'");
    eq(audit.map((a: Json) => [a.flag_key, a.actor, a.reason]), [[
      "USE_CIRCUIT_BREAKER",
      "service_role",
      "error spike",
    ]], "audit");
    const again = await api("/rollback", { body: { flag: "USE_CIRCUIT_BREAKER", reason: "again" } });
    eq([again.status, again.body.flags], [200, []], "already off: nothing changed");

    const undo = await api("/flags/USE_CIRCUIT_BREAKER", {
      method: "PATCH",
      body: { adminOverride: null, reason: "fixed" },
    });
    eq([undo.status, undo.body.flag.adminOverride], [200, null], "undo");
    const back = await evalAll(db, "USE_CIRCUIT_BREAKER");
    eq(back.filter((e) => e.enabled && e.reason === "ROLLOUT").length, 50, "enabled again");
  });

  await t.step("rollback of every flag in one call", async () => {
    const keys = (await db.query<{ key: string }>("select key from trimtab.feature_flags order by key")).map((r) =>
      r.key
    );
    const chat = await evalAll(db, "FEATURE_AGENT_CHAT");
    eq(chat.filter((e) => e.enabled).length, 50, "chat on for all 50 before");
    const v0 = Number(await version(db));
    const r = await api("/rollback", { body: { all: true, reason: "big red button" } });
    eq(r.status, 200, `rollback all: ${JSON.stringify(r.body)}`);
    eq(r.body.flags, [...keys].sort(), "every flag changed");
    eq(Number(r.body.version), v0 + keys.length, "one version step per flag");
    const left = await db.query<Json>(
      "select key from trimtab.feature_flags where admin_override is distinct from 'off'",
    );
    eq(left, [], "every flag is off");
    const audit = await auditRows(db, "action = 'flag.rollback' and reason = 'big red button'");
    eq(audit.map((a: Json) => a.flag_key).sort(), [...keys].sort(), "one audit row per flag");
    assert(audit.every((a: Json) => a.actor === "admin-1" && a.after.admin_override === "off"), "audit content");
    for (const key of ["FEATURE_AGENT_CHAT", "USE_CIRCUIT_BREAKER", "USE_RESPONSE_CACHE"]) {
      const ev = await evalAll(db, key);
      eq(ev.filter((e) => !e.enabled && e.reason === "ADMIN_OVERRIDE").length, 50, `${key} off for all 50`);
    }
    await db.query("update trimtab.feature_flags set admin_override = null"); // back to normal for later steps
  });

  await t.step("overrides: upsert with expiry, list, delete; expired ones are ignored", async () => {
    const past = await api("/overrides", {
      method: "PUT",
      body: { flag: "FEATURE_AGENT_CHAT", unit: "u-1", enabled: false, expiresAt: "2020-01-01T00:00:00Z", reason: "x" },
    });
    eq([past.status, past.body.error.code], [400, "INVALID_DATE"], "past expiry");
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const put = await api("/overrides", {
      method: "PUT",
      body: { flag: "FEATURE_AGENT_CHAT", unit: "u-1", enabled: false, expiresAt: future, reason: "support ticket 7" },
    });
    eq(put.status, 201, `put: ${JSON.stringify(put.body)}`);
    eq([
      put.body.override.flag,
      put.body.override.unit,
      put.body.override.enabled,
      put.body.override.expiresAt,
      put.body.override.setBy,
    ], [
      "FEATURE_AGENT_CHAT",
      "u-1",
      false,
      future,
      "admin-1",
    ], "override");
    eq(put.body.version, await version(db), "version");
    const upd = await api("/overrides", {
      method: "PUT",
      body: { flag: "FEATURE_AGENT_CHAT", unit: "u-1", enabled: false, reason: "support ticket 8" },
    });
    eq(
      [upd.status, upd.body.override.reason, upd.body.override.expiresAt],
      [200, "support ticket 8", null],
      "upsert updates",
    );
    const [set] = await auditRows(db, "action = 'override.set' and reason = 'support ticket 7'");
    eq([set?.flag_key, set?.unit, set?.actor], ["FEATURE_AGENT_CHAT", "u-1", "admin-1"], "override audit");
    const list = await api("/overrides?flag=FEATURE_AGENT_CHAT&unit=u-1");
    eq(list.body.overrides.map((o: Json) => [o.flag, o.unit, o.reason]), [[
      "FEATURE_AGENT_CHAT",
      "u-1",
      "support ticket 8",
    ]], "list filtered");
    const all = await api("/overrides");
    assert(all.body.overrides.some((o: Json) => o.unit === "user-42"), "list all includes the seed override");

    // An override whose expiry has passed (inserted directly as the owner) is ignored.
    await db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, expires_at, reason) values ('FEATURE_AGENT_CHAT', 'u-expired', false, now() - interval '1 hour', 'old')",
    );
    const [live, expired] = await evalAll(db, "FEATURE_AGENT_CHAT", ["u-1", "u-expired"], new Date());
    eq([live.enabled, live.reason], [false, "USER_OVERRIDE"], "live override applies");
    eq([expired.enabled, expired.reason], [true, "ROLLOUT"], "expired override ignored");

    const del = await api("/overrides?flag=FEATURE_AGENT_CHAT&unit=u-1&reason=ticket%20closed", { method: "DELETE" });
    eq([del.status, del.body.deleted], [200, { flag: "FEATURE_AGENT_CHAT", unit: "u-1" }], "delete");
    const [gone] = await auditRows(db, "action = 'override.delete' and unit = 'u-1'");
    eq(gone?.reason, "ticket closed", "delete audit");
    eq((await api("/overrides?flag=FEATURE_AGENT_CHAT&unit=u-1")).body.overrides, [], "gone");
    const again = await api("/overrides?flag=FEATURE_AGENT_CHAT&unit=u-1", { method: "DELETE" });
    eq([again.status, again.body.error.code], [404, "UNKNOWN_OVERRIDE"], "delete twice");
  });

  await t.step("audit log: filters, newest first, cursor paging", async () => {
    const byFlag = await api("/audit?flag=admin_test_flag");
    eq(byFlag.status, 200, "status");
    const e = byFlag.body.entries;
    assert(e.length >= 5 && e.every((x: Json) => x.flag === "admin_test_flag"), "flag filter");
    const ids = e.map((x: Json) => Number(x.id));
    eq(ids, [...ids].sort((a, b) => b - a), "newest first");
    eq(byFlag.body.next, null, "no more pages");
    const forced = await api("/audit?action=flag.ramp.forced");
    eq(forced.body.entries.map((x: Json) => [x.flag, x.reason, x.actor]), [[
      "admin_test_flag",
      "incident 42: ship the fix to everyone",
      "admin-1",
    ]], "action filter");
    const svc = await api("/audit?actor=service_role");
    assert(svc.body.entries.length === 1 && svc.body.entries[0].action === "flag.rollback", "actor filter");
    const page1 = await api("/audit?flag=admin_test_flag&limit=2");
    eq(page1.body.entries.map((x: Json) => x.id), e.slice(0, 2).map((x: Json) => x.id), "page 1");
    eq(page1.body.next, e[1].id, "cursor");
    const page2 = await api(`/audit?flag=admin_test_flag&limit=2&before=${page1.body.next}`);
    eq(page2.body.entries.map((x: Json) => x.id), e.slice(2, 4).map((x: Json) => x.id), "page 2");
    const future = await api(`/audit?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    eq([future.status, future.body.entries], [200, []], "since in the future");
    const old = await api("/audit?until=2000-01-01T00:00:00Z");
    eq(old.body.entries, [], "until long ago");
    const recent = await api(
      `/audit?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&limit=500`,
    );
    assert(recent.body.entries.length > 10, "since an hour ago");
    eq(recent.body.entries[0].configVersion, await version(db), "newest entry carries the current version");
  });
}

onBothBackends("flags-admin", checks);

// testTokens() signs with the project's current key; a token signed by another key under the same
// kid fails its signature, and one under an unknown kid names the key.
Deno.test("flags-admin: a token signed with another key is a 401", async () => {
  const tk = await testTokens();
  const { newSigningKey, userToken, LOCAL_ISSUER } = await import("../../scripts/dev/keys.ts");
  const stranger = await newSigningKey();
  const sameKid = await userToken({ ...stranger, kid: tk.keys.signing[0].kid }, "admin-1", {
    admin: true,
    issuer: LOCAL_ISSUER,
  });
  const r = await call(admin, req("/flags-admin/flags", { token: sameKid }));
  eq([r.status, r.body.error.code], [401, "BAD_SIGNATURE"], "another key, same kid");
  const unknown = await call(
    admin,
    req("/flags-admin/flags", {
      token: await userToken(stranger, "admin-1", { admin: true, issuer: LOCAL_ISSUER }),
    }),
  );
  eq([unknown.status, unknown.body.error.code], [401, "UNKNOWN_SIGNING_KEY"], "unknown kid");
});
