// safeMigration's contract (supabase/functions/_shared/safety/migration.ts) on PGlite and a real
// Debian Postgres, with small implementations that write to a scratch table so every side effect
// can be counted: the per-unit choice (flag off / on / variant "shadow" / companion shadow flag /
// forceOld), the fallback on an error and on a timeout (the abandoned call's late effect refused),
// no fallback once the new path's effect started, shadow runs whose effects are skipped and whose
// database refuses writes (nothing lands), and the usage rows (pipeline, status, error code,
// fallback, cost, the unit's bucket).
import "../../supabase/functions/_shared/platform/routed.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { logger, setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { bucket } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { type MigrationContext, safeMigration } from "../../supabase/functions/_shared/safety/migration.ts";
import { defaultSimilarity, shadowIdle } from "../../supabase/functions/_shared/safety/shadow.ts";
import { assert, eq, type Json, logCapture, onBothBackends, sleep } from "./support.ts";

const FLAG = "mig_contract";
const SHADOW = "mig_contract_shadow";
const { lines, sink } = logCapture();

/** Creates or replaces a flag (enabled, 100 % unless told), then drops the isolate's cache. */
async function setFlag(db: Db, key: string, f: { enabled?: boolean; rollout?: number; variants?: Json[] } = {}) {
  await db.query(
    `insert into trimtab.feature_flags (key, enabled, rollout_percentage, variants)
     values ($1, $2, $3, $4::text::jsonb)
     on conflict (key) do update set enabled = excluded.enabled, rollout_percentage = excluded.rollout_percentage,
       variants = excluded.variants`,
    [key, f.enabled ?? true, f.rollout ?? 100, f.variants ?? null],
  );
  invalidate();
}

const overrideUnit = (db: Db, flag: string, unit: string, enabled: boolean) =>
  db.query(
    `insert into trimtab.user_feature_overrides (flag_key, unit, enabled, reason) values ($1, $2, $3, 'contract test')
     on conflict (flag_key, unit) do update set enabled = excluded.enabled`,
    [flag, unit, enabled],
  ).then(invalidate);

interface In {
  text: string;
  mode?: "ok" | "throw" | "hang" | "effect-then-throw" | "write-db";
}

async function checks(t: Deno.TestContext, db: Db) {
  const prev = setLogSink(sink);
  await db.exec(
    "create table if not exists trimtab_examples.contract_effects (label text not null, at timestamptz default now())",
  );
  const effects = async () =>
    (await db.query<{ label: string }>("select label from trimtab_examples.contract_effects order by at")).map((r) =>
      r.label
    );
  const write = (q: { query: Db["query"] }, label: string) =>
    q.query("insert into trimtab_examples.contract_effects (label) values ($1)", [label]);
  const late = Promise.withResolvers<string>();
  const m = safeMigration<In, { text: string; path: string }>({
    flag: FLAG,
    feature: "contract",
    old: (i) => Promise.resolve({ text: i.text.toLowerCase(), path: "old" }),
    new: async (i, ctx: MigrationContext) => {
      if (i.mode === "throw") throw Object.assign(new Error("boom"), { code: "NEW_BROKE" });
      if (i.mode === "hang") {
        await sleep(300); // past timeoutMs: the call is abandoned meanwhile
        try {
          await ctx.effects.run("late write", () => write(db, "late"));
          late.resolve("RAN");
        } catch (e) {
          late.resolve(String((e as { code?: string }).code));
        }
        return { text: "late", path: "new" };
      }
      if (i.mode === "write-db") await write(ctx.db, "through ctx.db");
      await ctx.effects.run("effect", () => write(db, `effect ${i.text}`));
      if (i.mode === "effect-then-throw") throw Object.assign(new Error("after"), { code: "AFTER_EFFECT" });
      ctx.usage({ provider: "v2", tokensIn: 3 });
      return { text: i.text.toLowerCase(), path: "new" };
    },
    timeoutMs: 100,
    cost: (_out, path) => path === "new" ? 0.5 : 0.25,
    shadow: { flag: SHADOW },
    compare: (a, b) => defaultSimilarity(a.text, b.text),
    shadowDetails: (old, neu) => ({ oldPath: old.path, newPath: neu?.path ?? null }),
    provider: { old: "v1" },
    forceOld: (unit) => unit.startsWith("forced-") ? "maintenance" : null,
  });
  const run = (unit: string, i: In) =>
    m.run(i, { unit, correlationId: `cid-${crypto.randomUUID()}`, db, log: logger({ t: "contract" }) });
  const rows = (cid: string) =>
    db.query<Json>("select * from trimtab.ai_usage_logs where correlation_id = $1 order by id", [cid]);
  const pick = (r: Json) => [r.pipeline, r.status, r.error_code, r.fallback, r.shadow];

  try {
    await t.step("the flag picks the path per unit; forceOld wins; the old path never runs the new one", async () => {
      await setFlag(db, FLAG, { enabled: true, rollout: 0 });
      await setFlag(db, SHADOW, { enabled: false, rollout: 0 });
      await overrideUnit(db, FLAG, "on-1", true);
      eq(await m.decide("off-1"), { path: "old", why: "flag", shadow: false }, "flag off");
      eq(await m.decide("on-1"), { path: "new", shadow: false }, "flag on");
      eq(await m.decide("forced-on"), { path: "old", why: "maintenance", shadow: false }, "forceOld");
      await overrideUnit(db, SHADOW, "off-2", true);
      eq(await m.decide("off-2"), { path: "old", why: "flag", shadow: true }, "companion shadow flag");
      const r = await run("on-1", { text: "Hello" });
      eq([r.value, r.path, r.fallback, r.shadowed], [{ text: "hello", path: "new" }, "new", undefined, false]);
      eq(await effects(), ["effect Hello"], "the served new path's effect ran");
    });

    await t.step("usage rows: pipeline, provider, cost, the unit's bucket; the old path's row", async () => {
      const n = await m.run({ text: "Row" }, { unit: "on-1", correlationId: "cid-new-row", db, log: logger() });
      const [row] = await rows("cid-new-row");
      eq([row.pipeline, row.provider, row.status, Number(row.tokens_in), Number(row.cost_usd)], [
        "new",
        "v2",
        "ok",
        3,
        0.5,
      ]);
      eq(Number(row.unit_bucket), bucket(FLAG, "on-1"), "unit bucket, no unit stored");
      assert(!JSON.stringify(row).includes("on-1"), "the unit itself is not stored");
      eq(n.path, "new");
      const o = await m.run({ text: "Old" }, { unit: "off-1", correlationId: "cid-old-row", db, log: logger() });
      eq([o.path, o.why], ["old", "flag"]);
      eq((await rows("cid-old-row")).map((r) => [r.pipeline, r.provider, Number(r.cost_usd)]), [["old", "v1", 0.25]]);
    });

    await t.step("fallback: an error of the new path serves the old one; both rows written", async () => {
      lines.length = 0;
      const r = await m.run({ text: "Fall", mode: "throw" }, {
        unit: "on-1",
        correlationId: "cid-fallback",
        db,
        log: logger({ correlationId: "cid-fallback" }),
      });
      eq([r.value.path, r.path, r.fallback], ["old", "old", "NEW_BROKE"]);
      eq((await rows("cid-fallback")).map(pick), [
        ["new", "error", "NEW_BROKE", false, false],
        ["old", "ok", "NEW_BROKE", true, false],
      ]);
      assert(
        lines.some((l) => l.includes('"msg":"migration fallback to old"') && l.includes("cid-fallback")),
        "warned with the correlation id",
      );
    });

    await t.step("timeout: the old path serves; the abandoned call's late effect is refused", async () => {
      const before = await effects();
      const r = await m.run({ text: "Slow", mode: "hang" }, {
        unit: "on-1",
        correlationId: "cid-timeout",
        db,
        log: logger(),
      });
      eq([r.path, r.fallback], ["old", "MIGRATION_TIMEOUT"]);
      eq((await rows("cid-timeout")).map(pick), [
        ["new", "timeout", "MIGRATION_TIMEOUT", false, false],
        ["old", "ok", "MIGRATION_TIMEOUT", true, false],
      ]);
      eq(await late.promise, "MIGRATION_ABANDONED", "the hung implementation's effect, tried late, was refused");
      eq(await effects(), before, "no late write landed");
    });

    await t.step("no fallback once the new path's effect started: the error is thrown, old not run", async () => {
      let thrown: unknown = null;
      try {
        await m.run({ text: "Twice", mode: "effect-then-throw" }, {
          unit: "on-1",
          correlationId: "cid-after",
          db,
          log: logger(),
        });
      } catch (e) {
        thrown = e;
      }
      eq((thrown as { code?: string })?.code, "AFTER_EFFECT", "thrown");
      eq((await effects()).filter((e) => e === "effect Twice").length, 1, "the effect ran once");
      eq((await rows("cid-after")).map(pick), [["new", "error", "AFTER_EFFECT", false, false]], "no old row");
    });

    await t.step("shadow: effects skipped, a write through ctx.db refused by Postgres, nothing lands", async () => {
      await setFlag(db, FLAG, { enabled: true, rollout: 100, variants: [{ key: "shadow", weight: 100 }] });
      const before = await effects();
      const a = await m.run({ text: "Shadowed" }, { unit: "s-1", correlationId: "cid-shadow", db, log: logger() });
      eq([a.path, a.why, a.shadowed, a.value.path], ["old", "flag", true, "old"], "old served, shadow started");
      const b = await m.run({ text: "Sneaky", mode: "write-db" }, {
        unit: "s-2",
        correlationId: "cid-sneaky",
        db,
        log: logger(),
      });
      eq(b.shadowed, true);
      await shadowIdle();
      eq(await effects(), before, "no shadow write landed");
      const cmp = async (cid: string) =>
        (await db.query<Json>("select * from trimtab.shadow_comparisons where correlation_id = $1", [cid]))[0];
      const ok = await cmp("cid-shadow");
      const details = typeof ok.details === "string" ? JSON.parse(ok.details) : ok.details;
      eq([Number(ok.similarity), ok.new_error], [1, null], "same text: similarity 1 (the migration's compare)");
      eq(
        [details.oldPath, details.newPath, details.skippedEffects],
        ["old", "new", 1],
        "details: the migration's, and the skipped effect counted",
      );
      const sneaky = await cmp("cid-sneaky");
      eq(sneaky.new_error, "DB_25006", "read_only_sql_transaction: Postgres refused the shadow's write");
      eq((await rows("cid-shadow")).map(pick), [
        ["old", "ok", null, false, false],
        ["new", "ok", null, false, true],
      ], "usage rows: served old, shadow new");
      eq((await rows("cid-sneaky")).map(pick), [
        ["old", "ok", null, false, false],
        ["new", "error", "DB_25006", false, true],
      ], "the refused write is the shadow run's error on its usage row");
    });
  } finally {
    await shadowIdle();
    setLogSink(prev);
  }
}

onBothBackends("safeMigration contract", checks);
