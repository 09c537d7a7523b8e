// The schema (supabase/bootstrap + supabase/migrations + supabase/seed.sql) and the db layer
// (supabase/functions/_shared/db.ts) against PGlite and against a real PostgreSQL server
// (Debian's package, started on a free port by scripts/pg-test-server.sh and stopped afterwards;
// set TRIMTAB_TEST_PG_URL to use a server you started yourself).
//
// Needs --allow-read --allow-env --allow-run --allow-net --allow-write=.data (it writes only under
// .data/) and the npm packages `postgres` and `@electric-sql/pglite` in node_modules (Deno uses
// node_modules itself since package.json exists: nodeModulesDir "manual").
import type { Claims } from "../../supabase/functions/_shared/platform/db.ts";
import { loadSnapshot, snapshotFromRows } from "../../supabase/functions/_shared/flags/snapshot.ts";
import { type DevDb as Db, openDb } from "../../scripts/dev/db.ts";
import { FlagEngine } from "../../js/trimtab.js";
import { startPg } from "./support.ts";

const ROOT = new URL("../..", import.meta.url);

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
function eq(actual: unknown, expected: unknown, msg: string) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg}: expected ${e}, got ${a}`);
}
async function rejects(p: Promise<unknown>, pattern: RegExp, msg: string) {
  try {
    await p;
  } catch (e) {
    const text = `${(e as Error).message} ${(e as { code?: string }).code ?? ""}`;
    if (!pattern.test(text)) throw new Error(`${msg}: wrong error: ${text}`);
    return;
  }
  throw new Error(`${msg}: no error`);
}

const ADMIN: Claims = { sub: "admin-1", role: "authenticated", app_metadata: { role: "admin" } };
const USER42: Claims = { sub: "user-42", role: "authenticated", app_metadata: {} };
const USER7: Claims = { sub: "user-7", role: "authenticated" };
const ANON: Claims = { role: "anon" };
const SERVICE: Claims = { role: "service_role" };

async function version(db: Db): Promise<number> {
  const [r] = await db.query<{ version: unknown }>("select version from trimtab.flag_config_version");
  return Number(r.version);
}

const FLAG_COLS = "key, enabled, rollout_percentage, salt, admin_override";
const insertFlag = (
  db: Db,
  key: string,
  rollout: number | string,
  extra: { salt?: string; admin_override?: string } = {},
) =>
  db.query(`insert into trimtab.feature_flags (${FLAG_COLS}) values ($1, true, $2, $3, $4)`, [
    key,
    rollout,
    extra.salt ?? null,
    extra.admin_override ?? null,
  ]);

async function checks(t: Deno.TestContext, db: Db) {
  await t.step("migrations are recorded and not applied twice; bootstrap is idempotent", async () => {
    const rows = await db.query<{ version: string }>("select version from trimtab.schema_migrations order by version");
    assert(rows.length >= 1 && rows[0].version === "20261122000001", `schema_migrations: ${JSON.stringify(rows)}`);
    eq(await db.migrate(), [], "second migrate");
  });

  await t.step("seed: every flag (production seed), then the demo state and override on top", async () => {
    const keys = (await db.query<{ key: string }>("select key from trimtab.feature_flags order by key")).map((r) =>
      r.key
    );
    for (
      const k of [
        "FEATURE_AGENT_CHAT",
        "phoenix_pipeline_enabled",
        "USE_OPTIMIZED_PROMPTS",
        "USE_CIRCUIT_BREAKER",
        "ENFORCE_CIRCUIT_BREAKER",
        "USE_RESPONSE_CACHE",
        "FEATURE_AGENT_VOICE",
        "FEATURE_AGENT_VOUCHERS",
        "FEATURE_AGENT_CUSTOMER_LOOKUP",
        "AI_PIPELINE",
      ]
    ) assert(keys.includes(k), `seed lacks ${k}`);
    const audit = await db.query<{ actor: string; reason: string }>(
      "select actor, reason from trimtab.flag_audit_log where flag_key = 'FEATURE_AGENT_CHAT' and action = 'seed' order by id",
    );
    eq(
      audit.map((r) => [r.actor, r.reason]),
      [["seed", "production seed: every flag off"], ["seed", "demo seed"]],
      "seed audit rows: created off, then the demo state",
    );
  });

  await t.step("constraints reject bad rows", async () => {
    await rejects(insertFlag(db, "too_high", 101), /feature_flags_rollout_range/, "rollout 101");
    await rejects(insertFlag(db, "negative", -1), /feature_flags_rollout_range/, "rollout -1");
    await rejects(insertFlag(db, "five_decimals", "12.34567"), /feature_flags_rollout_scale/, "5 decimals");
    await rejects(
      insertFlag(db, "bad_override", 5, { admin_override: "maybe" }),
      /admin_override_check/,
      "admin_override",
    );
    await rejects(insertFlag(db, "bad_salt", 5, { salt: "a:b" }), /salt_format/, "salt with ':'");
    await rejects(insertFlag(db, "bad key!", 5), /key_format/, "key format");
    await rejects(
      db.query("insert into trimtab.feature_flags (key, stages) values ('bad_stages', '{5,101}')"),
      /stages_valid/,
      "stage 101",
    );
    await rejects(
      db.query("insert into trimtab.feature_flags (key, rules) values ('bad_rules', '{}')"),
      /rules_array/,
      "rules object",
    );
    await rejects(
      db.query(
        "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('no_such_flag', 'u', true, 'x')",
      ),
      /foreign key|violates/,
      "override of unknown flag",
    );
    await rejects(
      db.query(
        "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('phoenix_pipeline_enabled', 'user-42', true, 'dup')",
      ),
      /flag_unit_key|duplicate/,
      "duplicate (flag, unit)",
    );
    await insertFlag(db, "four_decimals", "0.0001");
    const [r] = await db.query<{ rollout_percentage: unknown }>(
      "select rollout_percentage from trimtab.feature_flags where key = 'four_decimals'",
    );
    eq(Number(r.rollout_percentage), 0.0001, "0.0001 kept exactly");
  });

  await t.step("the config version moves on every change", async () => {
    const v0 = await version(db);
    await db.query("update trimtab.feature_flags set rollout_percentage = 50 where key = 'four_decimals'");
    const v1 = await version(db);
    assert(v1 > v0, `version after flag update: ${v0} -> ${v1}`);
    await db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('four_decimals', 'user-7', true, 'beta tester')",
    );
    const v2 = await version(db);
    assert(v2 > v1, `version after override insert: ${v1} -> ${v2}`);
    await db.query("delete from trimtab.user_feature_overrides where flag_key = 'four_decimals' and unit = 'user-7'");
    assert((await version(db)) > v2, "version after override delete");
  });

  await t.step("RLS: users read only their own overrides; anon reads none", async () => {
    await db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('USE_RESPONSE_CACHE', 'user-7', false, 'cache bug')",
    );
    const mine42 = await db.asUser(
      USER42,
      (q) => q.query<{ unit: string }>("select unit from trimtab.user_feature_overrides"),
    );
    eq([...new Set(mine42.map((r) => r.unit))], ["user-42"], "user-42 sees");
    const mine7 = await db.asUser(
      USER7,
      (q) => q.query<{ unit: string }>("select unit from trimtab.user_feature_overrides"),
    );
    eq([...new Set(mine7.map((r) => r.unit))], ["user-7"], "user-7 sees");
    const other = await db.asUser(
      USER7,
      (q) => q.query("select * from trimtab.user_feature_overrides where unit = 'user-42'"),
    );
    eq(other.length, 0, "user-7 asking for user-42's rows");
    await rejects(
      db.asUser(ANON, (q) => q.query("select * from trimtab.user_feature_overrides")),
      /permission denied/,
      "anon reading overrides",
    );
    const all = await db.asUser(
      ADMIN,
      (q) => q.query<{ unit: string }>("select unit from trimtab.user_feature_overrides"),
    );
    assert(new Set(all.map((r) => r.unit)).size >= 2, "admin sees every unit");
  });

  await t.step("RLS: non-admins read only client-visible flags and change nothing", async () => {
    const visible = await db.asUser(
      USER42,
      (q) => q.query<{ key: string; client_visible: boolean }>("select key, client_visible from trimtab.feature_flags"),
    );
    assert(visible.length > 0 && visible.every((r) => r.client_visible), "user sees only client-visible flags");
    const anonVisible = await db.asUser(ANON, (q) => q.query("select key from trimtab.feature_flags"));
    eq(anonVisible.length, visible.length, "anon sees the client-visible flags too");

    const v0 = await version(db);
    const updated = await db.asUser(
      USER42,
      (q) =>
        q.query(
          "update trimtab.feature_flags set rollout_percentage = 100 where key = 'FEATURE_AGENT_CHAT' returning key",
        ),
    );
    eq(updated.length, 0, "rows a non-admin updated");
    await rejects(
      db.asUser(USER42, (q) => q.query("insert into trimtab.feature_flags (key) values ('sneaky')")),
      /row-level security/,
      "non-admin insert",
    );
    await rejects(
      db.asUser(USER42, (q) =>
        q.query(
          "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('FEATURE_AGENT_VOICE', 'user-42', true, 'me')",
        )),
      /row-level security/,
      "non-admin override insert",
    );
    const deleted = await db.asUser(USER42, (q) => q.query("delete from trimtab.user_feature_overrides returning id"));
    eq(deleted.length, 0, "rows a non-admin deleted");
    await rejects(
      db.asUser(USER42, (q) => q.query("truncate trimtab.feature_flags cascade")),
      /permission denied/,
      "non-admin truncate",
    );
    await rejects(
      db.asUser(ANON, (q) => q.query("update trimtab.feature_flags set enabled = false")),
      /permission denied/,
      "anon update",
    );
    await rejects(
      db.asUser(USER42, (q) => q.query("update trimtab.flag_config_version set version = 0")),
      /permission denied/,
      "non-admin version write",
    );
    const audit = await db.asUser(USER42, (q) => q.query("select * from trimtab.flag_audit_log"));
    eq(audit.length, 0, "audit rows a non-admin reads");
    await rejects(
      db.asUser(USER42, (q) => q.query("insert into trimtab.flag_audit_log (actor, action) values ('me', 'fake')")),
      /row-level security/,
      "non-admin audit insert",
    );
    eq(await version(db), v0, "version unchanged by refused changes");
  });

  await t.step("admins change flags; each change is audited with actor, reason, before, after", async () => {
    const v0 = await version(db);
    const rows = await db.asUser(ADMIN, async (q) => {
      await q.audit({ action: "flag.ramp", reason: "ramp to 25%" });
      return await q.query<{ key: string }>(
        "update trimtab.feature_flags set rollout_percentage = 25 where key = 'phoenix_pipeline_enabled' returning key",
      );
    });
    eq(rows.length, 1, "rows the admin updated");
    const v1 = await version(db);
    eq(v1, v0 + 1, "one changed row, one version step");
    const [a] = await db.query<
      { actor: string; action: string; reason: string; before: unknown; after: unknown; config_version: unknown }
    >(
      "select * from trimtab.flag_audit_log where flag_key = 'phoenix_pipeline_enabled' and action = 'flag.ramp'",
    );
    assert(a, "audit row written");
    eq([a.actor, a.reason, Number(a.config_version)], ["admin-1", "ramp to 25%", v1], "audit actor/reason/version");
    const doc = (x: unknown) => (typeof x === "string" ? JSON.parse(x) : x) as Record<string, unknown>;
    eq([Number(doc(a.before).rollout_percentage), Number(doc(a.after).rollout_percentage)], [5, 25], "before/after");

    const audited = await db.asUser(ADMIN, (q) => q.query("select * from trimtab.flag_audit_log"));
    assert(audited.length > 0, "admin reads the audit log");

    // emergency rollback of every flag in one statement, by the service role
    await db.asUser(SERVICE, async (q) => {
      await q.audit({ actor: "ops", action: "flag.rollback", reason: "incident 12" });
      await q.query("update trimtab.feature_flags set admin_override = 'off'");
    });
    const [n] = await db.query<{ n: unknown }>(
      "select count(*) as n from trimtab.feature_flags where admin_override is distinct from 'off'",
    );
    eq(Number(n.n), 0, "flags left on after rollback");
    const rb = await db.query("select * from trimtab.flag_audit_log where action = 'flag.rollback' and actor = 'ops'");
    assert(rb.length >= 9, `rollback audit rows: ${rb.length}`);
    await db.query("update trimtab.feature_flags set admin_override = null");

    // override set by an admin records who set it
    await db.asUser(ADMIN, (q) =>
      q.query(
        "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, expires_at, reason) values ('FEATURE_AGENT_VOICE', 'user-42', true, now() + interval '1 day', 'voice beta')",
      ));
    const [o] = await db.query<{ set_by: string }>(
      "select set_by from trimtab.user_feature_overrides where flag_key = 'FEATURE_AGENT_VOICE' and unit = 'user-42'",
    );
    eq(o.set_by, "admin-1", "set_by");
  });

  await t.step("the audit log is append-only, even for admins and the owner", async () => {
    await rejects(
      db.asUser(ADMIN, (q) => q.query("delete from trimtab.flag_audit_log")),
      /permission denied|append-only/,
      "admin delete",
    );
    await rejects(db.query("update trimtab.flag_audit_log set reason = 'rewritten'"), /append-only/, "owner update");
    await rejects(db.query("delete from trimtab.flag_audit_log"), /append-only/, "owner delete");
  });

  await t.step("deleting a flag cascades to its overrides, audited", async () => {
    await db.query(
      "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('four_decimals', 'user-9', true, 'x')",
    );
    await db.asUser(ADMIN, (q) => q.query("delete from trimtab.feature_flags where key = 'four_decimals'"));
    const left = await db.query("select * from trimtab.user_feature_overrides where flag_key = 'four_decimals'");
    eq(left.length, 0, "overrides left");
    const acts = (await db.query<{ action: string }>(
      "select action from trimtab.flag_audit_log where flag_key = 'four_decimals' order by id desc limit 2",
    )).map((r) => r.action).sort();
    eq(acts, ["flag.delete", "override.delete"], "delete audit");
  });

  await t.step("snapshot: from rows into the Wasm engine", async () => {
    const snap = await loadSnapshot(db);
    eq(snap.version, String(await version(db)), "snapshot version");
    const engine = new FlagEngine(snap);
    const e = engine.evaluate("phoenix_pipeline_enabled", { userId: "user-42" });
    eq([e.enabled, e.reason], [false, "USER_OVERRIDE"], "user-42 override");
    const browser = await db.asUser(USER42, (q) => loadSnapshot(q, { clientOnly: true, now: new Date() }));
    assert(browser.flags.every((f) => f.clientVisible), "browser snapshot: client-visible only");
    new FlagEngine(browser); // valid
    const expired = snapshotFromRows(
      "1",
      [{
        key: "f",
        enabled: true,
        admin_override: null,
        rollout_percentage: "0",
        salt: null,
        stickiness: "userId",
        rules: null,
        variants: null,
        prerequisites: null,
        stages: ["0.1", "5"],
        schedule: null,
        client_visible: true,
      }],
      [
        { flag_key: "f", unit: "a", enabled: true, variant: null, expires_at: "2020-01-01T00:00:00Z", reason: "old" },
        { flag_key: "g", unit: "a", enabled: true, variant: null, expires_at: null, reason: "unknown flag" },
      ],
      { now: new Date("2026-01-01T00:00:00Z") },
    );
    eq(expired.overrides, [], "expired and unknown-flag overrides dropped");
    eq(expired.flags[0].stages, [0.1, 5], "numeric stages");
  });
}

Deno.test({
  name: "db: PGlite (in memory)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const db = await openDb({ url: "", dataDir: "memory://" });
    eq(db.kind, "pglite", "backend");
    try {
      await checks(t, db);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "db: PGlite on disk keeps data and migrates once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Deno.mkdir(new URL(".data/", ROOT), { recursive: true });
    const dir = await Deno.makeTempDir({
      dir: decodeURIComponent(new URL(".data/", ROOT).pathname),
      prefix: "pglite-test-",
    });
    try {
      let db = await openDb({ url: "", dataDir: dir });
      await db.query("update trimtab.feature_flags set rollout_percentage = 1 where key = 'USE_CIRCUIT_BREAKER'");
      const v = await version(db);
      await db.close();
      db = await openDb({ url: "", dataDir: dir });
      try {
        const [r] = await db.query<{ rollout_percentage: unknown }>(
          "select rollout_percentage from trimtab.feature_flags where key = 'USE_CIRCUIT_BREAKER'",
        );
        eq(Number(r.rollout_percentage), 1, "value after reopening");
        eq(await version(db), v, "reopening (no new migration, no reseed) leaves the version");
      } finally {
        await db.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "db: PostgreSQL server (Debian package)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const pg = await startPg();
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 3 });
      eq(db.kind, "postgres", "backend");
      try {
        await checks(t, db);
        if (pg.pause && pg.resume) {
          await t.step("an outage fails queries fast; the pool recovers when the server returns", async () => {
            await pg.pause!();
            const t0 = Date.now();
            await rejects(db.query("select 1"), /ECONNREFUSED|terminat|connect|closed/i, "query during outage");
            assert(Date.now() - t0 < 6000, `outage error took ${Date.now() - t0} ms`);
            await pg.resume!();
            const [r] = await db.query<{ version: unknown }>("select version from trimtab.flag_config_version");
            assert(Number(r.version) > 0, "query after recovery");
          });
        }
      } finally {
        await db.close();
      }
    } finally {
      await pg.stop();
    }
  },
});
