// Bad input to `flags-admin`, on PGlite and a real Debian Postgres: every refusal has its stable
// code and writes nothing (config version and audit log unchanged); validation happens before the
// database is touched; database errors reach the client only as generic messages.
import "../../supabase/functions/_shared/platform/routed.ts";
import admin from "../../supabase/functions/flags-admin/index.ts";
import { dbError } from "../../supabase/functions/_shared/flags/admin.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { setLogLevel, setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { useDb } from "../../supabase/functions/_shared/platform/store.ts";
import {
  adminApi,
  assert,
  auditCount,
  configVersion as version,
  eq,
  LEAKS,
  onBothBackends,
  type Tokens,
} from "./support.ts";

import type { Json } from "./support.ts";

const flagRow = async (db: Db, key: string) =>
  (await db.query<Json>("select * from trimtab.feature_flags where key = $1", [key]))[0];

setLogLevel("warn"); // no access lines

/** The pattern of the reported snapshot: 3,902 instructions, over one flag's condition budget. */
const HEAVY = "(?:a?){1300}(?:a){1300}b";

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const api = adminApi(admin, tk);

  // The flag the cases below aim at: rollout 5 %, staged 1 / 5 / 25 / 50 / 100.
  await db.query(
    "insert into trimtab.feature_flags (key, enabled, rollout_percentage, stages) values ('admin_test_flag', true, 5, '{1,5,25,50,100}')",
  );

  await t.step("bad input: its code, and nothing written", async () => {
    const long = "x".repeat(70 * 1024);
    const cases: [string, string, unknown, number, string, RegExp?][] = [
      ["POST", "/flags", "{not json", 400, "BAD_JSON"],
      ["POST", "/flags", JSON.stringify({ key: "big_flag", description: long }), 413, "PAYLOAD_TOO_LARGE"],
      ["POST", "/flags", { key: "new_flag", colour: "red" }, 400, "UNKNOWN_FIELD", /colour/],
      ["PATCH", "/flags/admin_test_flag", { rollout: 6, forse: true }, 400, "UNKNOWN_FIELD", /forse/],
      ["POST", "/flags", [1, 2], 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", enabled: "yes" }, 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", rules: { a: 1 } }, 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", adminOverride: "maybe" }, 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", salt: "a:b" }, 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", rollout: "50" }, 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", stages: [25, 5] }, 400, "INVALID_INPUT"],
      ["PATCH", "/flags/admin_test_flag", { rollout: 6, force: "yes" }, 400, "INVALID_INPUT"],
      ["PATCH", "/flags/admin_test_flag", { reason: "nothing else" }, 400, "INVALID_INPUT"],
      ["POST", "/flags", { key: "new_flag", rollout: 101 }, 400, "INVALID_PERCENT"],
      ["POST", "/flags", { key: "new_flag", rollout: -1 }, 400, "INVALID_PERCENT"],
      ["PATCH", "/flags/admin_test_flag", { rollout: 12.34567 }, 400, "INVALID_PERCENT"],
      ["PATCH", "/flags/admin_test_flag", { stages: [5, 101] }, 400, "INVALID_PERCENT"],
      ["POST", "/flags", { key: "bad key!" }, 400, "INVALID_KEY"],
      ["POST", "/flags", { key: "9starts_with_digit" }, 400, "INVALID_KEY"],
      ["POST", "/flags", { rollout: 5 }, 400, "INVALID_KEY"],
      ["PATCH", "/flags/bad%20key", { rollout: 6 }, 400, "INVALID_KEY"],
      ["PATCH", "/flags/no_such_flag", { rollout: 6 }, 404, "UNKNOWN_FLAG"],
      ["DELETE", "/flags/no_such_flag", undefined, 404, "UNKNOWN_FLAG"],
      ["POST", "/rollback", { flag: "no_such_flag", reason: "x" }, 404, "UNKNOWN_FLAG"],
      ["PATCH", "/flags/admin_test_flag", { rollout: 50 }, 409, "RAMP_SKIPS_STAGE", /25%/],
      ["PATCH", "/flags/admin_test_flag", { rollout: 25, force: true }, 400, "REASON_REQUIRED"],
      ["POST", "/rollback", { all: true }, 400, "REASON_REQUIRED"],
      ["POST", "/rollback", { flag: "FEATURE_AGENT_CHAT", reason: "" }, 400, "REASON_REQUIRED"],
      ["POST", "/rollback", { flag: "FEATURE_AGENT_CHAT", all: true, reason: "x" }, 400, "INVALID_INPUT"],
      ["POST", "/rollback", { all: false, reason: "x" }, 400, "INVALID_INPUT"],
      [
        "PUT",
        "/overrides",
        { flag: "FEATURE_AGENT_CHAT", unit: "u", enabled: true, reason: "r", expiresAt: "2020-01-01T00:00:00Z" },
        400,
        "INVALID_DATE",
      ],
      [
        "PUT",
        "/overrides",
        { flag: "FEATURE_AGENT_CHAT", unit: "u", enabled: true, reason: "r", expiresAt: "2099-02-30T00:00:00Z" },
        400,
        "INVALID_DATE",
      ],
      [
        "PUT",
        "/overrides",
        { flag: "FEATURE_AGENT_CHAT", unit: "u", enabled: true, reason: "r", expiresAt: "tomorrow" },
        400,
        "INVALID_DATE",
      ],
      ["PUT", "/overrides", { flag: "FEATURE_AGENT_CHAT", unit: "u", enabled: true }, 400, "REASON_REQUIRED"],
      ["PUT", "/overrides", { flag: "FEATURE_AGENT_CHAT", unit: "", enabled: true, reason: "r" }, 400, "INVALID_INPUT"],
      [
        "PUT",
        "/overrides",
        { flag: "FEATURE_AGENT_CHAT", unit: "u", enabled: true, reason: "r", until: "x" },
        400,
        "UNKNOWN_FIELD",
        /until/,
      ],
      ["GET", "/audit?since=yesterday", undefined, 400, "INVALID_DATE"],
      ["GET", "/audit?until=2026-13-01T00:00:00Z", undefined, 400, "INVALID_DATE"],
      ["GET", "/audit?limit=0", undefined, 400, "INVALID_INPUT"],
      ["GET", "/audit?limit=501", undefined, 400, "INVALID_INPUT"],
      ["GET", "/audit?before=abc", undefined, 400, "INVALID_INPUT"],
      // The configuration must compile / stay consistent (checked in the transaction, rolled back).
      [
        "POST",
        "/flags",
        { key: "cv_flag", clientVisible: true, prerequisites: [{ flag: "USE_CIRCUIT_BREAKER", enabled: true }] },
        400,
        "PREREQUISITE_NOT_CLIENT_VISIBLE",
        /USE_CIRCUIT_BREAKER/,
      ],
      [
        "PATCH",
        "/flags/FEATURE_AGENT_CHAT",
        { clientVisible: false },
        400,
        "PREREQUISITE_NOT_CLIENT_VISIBLE",
        /phoenix_pipeline_enabled/,
      ],
      [
        "POST",
        "/flags",
        { key: "bad_variants", variants: [{ key: "a", weight: -1 }] },
        400,
        "INVALID_FLAG",
        /bad_variants[\s\S]*variants/,
      ],
      [
        "POST",
        "/flags",
        { key: "bad_prereq", prerequisites: [{ flag: "no_such_flag" }] },
        400,
        "INVALID_FLAG",
        /no_such_flag/,
      ],
      ["DELETE", "/flags/FEATURE_AGENT_CHAT", undefined, 400, "INVALID_FLAG", /FEATURE_AGENT_CHAT/],
      // Conditions over the core's cost budget: the reported 797 rules of a 3,902-instruction
      // pattern, refused at the first rule that takes the flag over.
      [
        "POST",
        "/flags",
        { key: "heavy_regex", rules: Array(797).fill({ condition: { email: { $regex: HEAVY } } }) },
        400,
        "INVALID_FLAG",
        /heavy_regex[\s\S]*rules\[0\]\.condition[\s\S]*over the budget/,
      ],
      [
        "PATCH",
        "/flags/admin_test_flag",
        { rules: [{ condition: { country: "RW" } }, { condition: { email: { $not: { $regex: HEAVY } } } }] },
        400,
        "INVALID_FLAG",
        /admin_test_flag[\s\S]*rules\[1\]\.condition/,
      ],
      [
        "PUT",
        "/overrides",
        { flag: "FEATURE_AGENT_CHAT", unit: "u", enabled: true, variant: "nope", reason: "r" },
        400,
        "INVALID_FLAG",
      ],
      // Routing.
      ["PUT", "/flags", { key: "x" }, 405, "METHOD_NOT_ALLOWED"],
      ["GET", "/rollback", undefined, 405, "METHOD_NOT_ALLOWED"],
      ["GET", "/nowhere", undefined, 404, "NOT_FOUND"],
      ["GET", "/flags/a/b", undefined, 404, "NOT_FOUND"],
    ];
    const v0 = await version(db), a0 = await auditCount(db);
    const flagsBefore = JSON.stringify(await db.query("select * from trimtab.feature_flags order by key"));
    for (const [method, path, body, status, code, pattern] of cases) {
      const r = await api(path, { method, body });
      const what = `${method} ${path} ${typeof body === "string" ? body.slice(0, 40) : JSON.stringify(body)}`;
      eq([r.status, r.body?.error?.code], [status, code], what);
      assert(typeof r.body.error.message === "string" && r.body.error.message.length > 0, `${what}: message`);
      if (pattern) assert(pattern.test(r.body.error.message), `${what}: message ${r.body.error.message}`);
      assert(!LEAKS.test(r.body.error.message) || code === "INVALID_FLAG", `${what}: leaks ${r.body.error.message}`);
      eq([await version(db), await auditCount(db)], [v0, a0], `${what}: nothing written`);
    }
    eq(
      JSON.stringify(await db.query("select * from trimtab.feature_flags order by key")),
      flagsBefore,
      "flags unchanged",
    );
    for (const key of ["cv_flag", "bad_variants", "heavy_regex"]) {
      assert(await flagRow(db, key) === undefined, `no ${key}`);
    }
  });

  await t.step("bad input is refused before the database is touched", async () => {
    let touched = 0;
    const boom = () => {
      touched++;
      throw new Error("database touched");
    };
    useDb({ kind: db.kind, query: boom, exec: boom, tx: boom, asUser: boom } as unknown as Db);
    const logged: string[] = [];
    const sink = setLogSink((line) => logged.push(line)); // the expected 500 logs an error line
    try {
      const cases: [string, string, unknown, string][] = [
        ["POST", "/flags", "{", "BAD_JSON"],
        ["POST", "/flags", { key: "k", colour: 1 }, "UNKNOWN_FIELD"],
        ["POST", "/flags", { key: "k", enabled: 1 }, "INVALID_INPUT"],
        ["PATCH", "/flags/k", { rollout: 0.00001 }, "INVALID_PERCENT"],
        ["POST", "/flags", { key: "_k" }, "INVALID_KEY"],
        [
          "PUT",
          "/overrides",
          { flag: "k", unit: "u", enabled: true, reason: "r", expiresAt: "2001-01-01T00:00:00Z" },
          "INVALID_DATE",
        ],
        ["GET", "/audit?since=2026-11-31", undefined, "INVALID_DATE"],
        ["POST", "/rollback", { all: true, reason: " " }, "REASON_REQUIRED"],
      ];
      for (const [method, path, body, code] of cases) {
        const r = await api(path, { method, body });
        eq(r.body?.error?.code, code, `${method} ${path} ${JSON.stringify(body)}`);
      }
      eq(touched, 0, "the database was not touched");
      const ok = await api("/flags");
      eq(
        [ok.status, ok.body.error.code, touched],
        [500, "INTERNAL", 1],
        "a valid request does reach it (500, no detail)",
      );
      assert(!ok.body.error.message.includes("database touched"), "internal error text is not sent");
      assert(logged.some((l) => l.includes("database touched")), "but it is logged");
    } finally {
      setLogSink(sink);
      useDb(db);
    }
  });

  await t.step("database errors reach the client as generic messages", async () => {
    const v0 = await version(db), a0 = await auditCount(db);
    // Passes validation; the foreign key refuses it inside the database.
    const fk = await api("/overrides", {
      method: "PUT",
      body: { flag: "no_such_flag", unit: "u", enabled: true, reason: "r" },
    });
    eq([fk.status, fk.body.error.code], [404, "UNKNOWN_FLAG"], "FK violation");
    assert(!LEAKS.test(fk.body.error.message), `leaks: ${fk.body.error.message}`);
    eq([await version(db), await auditCount(db)], [v0, a0], "nothing written");
    const real = async (sql: string) => {
      try {
        await db.query(sql);
      } catch (e) {
        return e;
      }
      throw new Error(`no error from ${sql}`);
    };
    const expected: [string, number, string][] = [
      ["insert into trimtab.feature_flags (key, rollout_percentage) values ('r_1', 101)", 400, "INVALID_INPUT"],
      ["insert into trimtab.feature_flags (key) values ('FEATURE_AGENT_CHAT')", 409, "CONFLICT"],
      [
        "insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ('nope', 'u', true, 'r')",
        404,
        "UNKNOWN_FLAG",
      ],
      ["insert into trimtab.feature_flags (key, enabled) values ('r_2', null)", 400, "INVALID_INPUT"],
      ["select 1/0", 400, "INVALID_INPUT"],
      ["update trimtab.flag_audit_log set reason = 'x'", 403, "FORBIDDEN"],
    ];
    for (const [sql, status, code] of expected) {
      const e = await real(sql);
      assert(
        LEAKS.test(String((e as Error).message)) || /append-only|division/.test(String((e as Error).message)),
        `raw error is detailed: ${(e as Error).message}`,
      );
      const m = dbError(e);
      assert(m !== null, `${sql}: mapped`);
      eq([m!.status, m!.code], [status, code], sql);
      assert(
        !LEAKS.test(m!.message) && !m!.message.includes("flag_audit_log"),
        `${sql}: generic message ${m!.message}`,
      );
    }
    eq(dbError(new Error("boom")), null, "other errors are not mapped (500 INTERNAL)");
  });
}

onBothBackends("flags-admin bad input", checks);
