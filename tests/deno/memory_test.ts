// The conversation-memory example on safeMigration, through its edge function, on PGlite and a
// real Debian Postgres: dual writes keep both stores consistent; the flag memory_v2_enabled picks
// the store per user (at 10 %: one user inside, one outside, and one put in the "shadow"
// variant by an override); the new read path stores its summary, a shadow run compares without writing
// it; a broken new store falls back to the old one for reads and keeps the old write (consistency
// finds the gap, repair closes it); rollout-status shows the migration's metrics; and the guard
// rolls the flag back when the new path keeps failing. Failures are real: the new store's table
// is renamed away, and back.
import "../../supabase/functions/_shared/platform/routed.ts";
import memory from "../../supabase/functions/memory/index.ts";
import rolloutStatus from "../../supabase/functions/rollout-status/index.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import { MEMORY_FLAG } from "../../supabase/functions/_shared/examples/memory.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { bucket } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { runGuard } from "../../supabase/functions/_shared/safety/guard.ts";
import { shadowIdle } from "../../supabase/functions/_shared/safety/shadow.ts";
import { assert, call, eq, type Json, logCapture, onBothBackends, req, type Tokens } from "./support.ts";

/** The first user ids inside and outside the flag's 10 % (bucketed, so the guard's rollback
 *  reaches them: a per-user override would outrank it). */
function users(): { inside: string; outside: string } {
  let inside = "", outside = "";
  for (let i = 0; !inside || !outside; i++) {
    const u = `mem-user-${i}`;
    if (bucket(MEMORY_FLAG, u) < 100_000) inside ||= u;
    else outside ||= u;
  }
  return { inside, outside };
}
const { inside: NEW, outside: OLD } = users();
const SHADOWED = "mem-user-shadow";
const { sink } = logCapture();

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const prev = setLogSink(sink);
  const api = (path: string, o: { token?: string | null; method?: string; body?: unknown } = {}) =>
    call(memory, req(`/memory${path}`, { token: o.token === undefined ? tk.service : o.token, ...o }));
  const say = async (userId: string, session: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await api("/messages", {
        body: {
          userId,
          sessionId: session,
          role: i % 2 ? "assistant" : "user",
          content: `message ${i} about topic ${i}`,
        },
      });
      eq([r.status, r.body.dual], [201, true], `write ${i}: ${JSON.stringify(r.body)}`);
    }
  };
  const context = async (user: string, session = "s1", limit = 5) =>
    await api(`/context?session=${session}&limit=${limit}`, { token: await tk.user(user) });
  const summaries = async () =>
    Number((await db.query<Json>("select count(*) as n from trimtab_examples.summaries"))[0].n);
  const breakNewStore = () => db.exec("alter table trimtab_examples.messages rename to messages_away");
  const fixNewStore = () => db.exec("alter table trimtab_examples.messages_away rename to messages");

  // the flag: ramping at 10 % with the plans' stages; a "shadow" variant only overrides pick
  await db.tx(async (tx) => {
    await tx.audit({ actor: "test", action: "flag.update", reason: "memory example test" });
    await tx.query(
      `update trimtab.feature_flags set enabled = true, rollout_percentage = 10,
         variants = '[{"key": "new", "weight": 100}, {"key": "shadow", "weight": 0}]'::jsonb where key = $1`,
      [MEMORY_FLAG],
    );
    await tx.query(
      `insert into trimtab.user_feature_overrides (flag_key, unit, enabled, variant, reason)
       values ($1, $2, true, 'shadow', 'memory example test')`,
      [MEMORY_FLAG, SHADOWED],
    );
  });
  invalidate();

  try {
    await t.step("dual writes: every message lands in both stores; the stores agree", async () => {
      await say(NEW, "s1", 12);
      await say(OLD, "s1", 12);
      await say(SHADOWED, "s1", 12);
      const r = await api("/consistency");
      eq(r.status, 200);
      eq([r.body.conversations, r.body.consistent, r.body.mismatched], [3, true, 0], JSON.stringify(r.body));
      eq(Number((await db.query<Json>("select count(*) as n from trimtab_examples.messages"))[0].n), 36, "new store");
    });

    await t.step(
      "recall: the flag picks the store; both answer the same; the new path stores its summary",
      async () => {
        const n = await context(NEW);
        eq([n.status, n.body.path, n.body.total, n.body.messages.length], [200, "new", 12, 5], JSON.stringify(n.body));
        eq(n.body.messages.at(-1), { role: "assistant", content: "message 11 about topic 11" }, "newest last");
        assert(
          /^7 earlier messages; the user asked about: message 0 about topic 0; /.test(n.body.summary),
          n.body.summary,
        );
        eq(await summaries(), 1, "the summary was stored (the new path's effect)");
        const o = await context(OLD);
        eq([o.body.path, o.body.why, o.body.total], ["old", "flag", 12], "kept on the old store");
        eq(
          [o.body.messages, o.body.summary],
          [n.body.messages, n.body.summary],
          "the same answer, computed on the fly",
        );
        const again = await context(NEW);
        eq([again.body.summary, await summaries()], [n.body.summary, 1], "read back, not written again");
      },
    );

    await t.step("shadow: the old store serves, the new one is compared, its summary never written", async () => {
      const r = await context(SHADOWED);
      eq([r.status, r.body.path, r.body.why], [200, "old", "flag"], "served by the old store");
      await shadowIdle();
      eq(await summaries(), 1, "no summary row for the shadowed user");
      const rows = await db.query<Json>(
        `select similarity, new_error, details from trimtab.shadow_comparisons where flag_key = $1 order by id`,
        [MEMORY_FLAG],
      );
      eq(rows.length, 1, "one comparison");
      eq([Number(rows[0].similarity), rows[0].new_error], [1, null], "the stores agree");
      const details = typeof rows[0].details === "string" ? JSON.parse(rows[0].details) : rows[0].details;
      eq([details.oldTotal, details.newTotal, details.skippedEffects], [12, 12, 1], "the summary write was skipped");
      const usage = await db.query<Json>(
        "select pipeline, shadow, status from trimtab.ai_usage_logs where flag_key = $1 and shadow",
        [MEMORY_FLAG],
      );
      eq(usage.map((u) => [u.pipeline, u.status]), [["new", "ok"]], "the shadow run's usage row");
    });

    await t.step("a broken new store: reads fall back, writes keep the old store; consistency and repair", async () => {
      await breakNewStore();
      try {
        const r = await context(NEW);
        eq(
          [r.status, r.body.path, r.body.fallback, r.body.total],
          [200, "old", "DB_42P01", 12],
          JSON.stringify(r.body),
        );
        const w = await api("/messages", {
          body: { userId: NEW, sessionId: "s1", role: "user", content: "written while the new store is down" },
        });
        eq([w.status, w.body.dual, w.body.newError], [201, false, "DB_42P01"], "old store only");
      } finally {
        await fixNewStore();
      }
      const c = await api(`/consistency?user=${NEW}`);
      eq(c.body.mismatches, [{ userId: NEW, sessionId: "s1", old: 13, new: 12, reason: "COUNT" }], "the gap found");
      eq((await api("/repair", { body: { userId: NEW } })).body, { repaired: 1, remaining: 0 }, "repaired");
      eq((await api("/consistency")).body.consistent, true, "consistent again");
      const n = await context(NEW);
      eq([n.body.path, n.body.total, n.body.messages.at(-1).content], [
        "new",
        13,
        "written while the new store is down",
      ]);
    });

    await t.step("rollout-status: success rate, adoption, performance gain and gates of the migration", async () => {
      const r = await call(rolloutStatus, req(`/rollout-status?flag=${MEMORY_FLAG}`, { token: tk.admin }));
      eq(r.status, 200);
      const f = r.body.flags[0];
      const m = f.migration;
      eq([f.new.calls, f.new.errors], [4, 1], `new path calls: ${JSON.stringify(f.new)}`);
      eq([m.successRate, m.errorRate], [0.75, 0.25], "of the new path");
      eq(m.adoption, { units: 3, newUnits: 1, share: 1 / 3 }, "three users served, one on the new store");
      eq(m.performanceGain, Math.round(Math.max(f.old.p50Ms, 1) / Math.max(f.new.p50Ms, 1) * 10_000) / 10_000, "gain");
      eq(
        m.gates.checks.map((g: Json) => [g.code, g.ok]),
        [["SUCCESS_RATE", false], ["ERROR_RATE", false], ["PERFORMANCE_GAIN", m.performanceGainPercent > 0]],
        "gates",
      );
      eq(m.gates.ok, false, "not green");
    });

    await t.step("the guard rolls the memory flag back when the new path keeps failing", async () => {
      await breakNewStore();
      try {
        for (let i = 0; i < 25; i++) eq((await context(NEW)).body.fallback, "DB_42P01", `fallback ${i}`);
      } finally {
        await fixNewStore();
      }
      const g = await runGuard(db);
      const d = g.decisions.find((x) => x.flag === MEMORY_FLAG)!;
      eq([d.action, d.applied], ["rollback", "rollback"], JSON.stringify(d.reasons));
      assert(d.reasons.some((x) => x.code === "ERROR_RATE"), "the error rate breached");
      const [row] = await db.query<Json>("select admin_override from trimtab.feature_flags where key = $1", [
        MEMORY_FLAG,
      ]);
      eq(row.admin_override, "off", "rolled back");
      const after = await context(NEW);
      eq([after.body.path, after.body.why, after.body.fallback], ["old", "flag", undefined], "the old store serves");
    });

    await t.step("input and callers: anonymous 401, another user's memory 403, bad input 400", async () => {
      eq((await context(OLD, "bad session!")).body.error.code, "INVALID_INPUT", "session");
      eq((await api("/context?session=s1", { token: null })).status, 401, "anonymous");
      const other = await api(`/context?session=s1&user=${NEW}`, { token: await tk.user(OLD) });
      eq([other.status, other.body.error.code], [403, "FORBIDDEN"], "another user's memory");
      const extra = await api("/messages", {
        body: { userId: NEW, sessionId: "s1", role: "user", content: "x", y: 1 },
      });
      eq([extra.status, extra.body.error.code], [400, "UNKNOWN_FIELD"]);
      const role = await api("/messages", { body: { userId: NEW, sessionId: "s1", role: "robot", content: "x" } });
      eq([role.status, role.body.error.code], [400, "INVALID_INPUT"]);
      eq((await api("/consistency", { token: await tk.user(NEW) })).status, 403, "consistency is for admins");
      eq((await api("/nope")).status, 404);
      eq((await api("/context?session=s1", { method: "DELETE" })).status, 405);
    });
  } finally {
    await shadowIdle();
    setLogSink(prev);
  }
}

onBothBackends("memory example on safeMigration", checks);
