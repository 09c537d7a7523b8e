// Batch data migrations (supabase/functions/_shared/safety/data_migration.ts), the plans'
// usage_logs -> ai_usage_logs:
// - on PGlite and a real Debian Postgres, through the `data-migrations` function: batches with a
//   cursor, stop and resume, validation (and its failure), idempotent re-runs, a changed source row
//   overwritten with its backup, rollbacks in order, and the function's refusals;
// - on a real Debian Postgres, 100,000 source rows copied by the CLI (scripts/migrate-data.ts) as
//   a subprocess, killed with SIGKILL halfway and run again: every row exactly once, the counts and
//   checksums validated.
import "../../supabase/functions/_shared/platform/routed.ts";
import dataMigrations from "../../supabase/functions/data-migrations/index.ts";
import { openDb } from "../../scripts/dev/db.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { USAGE_LOGS_MIGRATION } from "../../supabase/functions/_shared/examples/usage_logs.ts";
import { assert, call, eq, eventually, type Json, onBothBackends, req, ROOT, startPg, type Tokens } from "./support.ts";

const NAME = USAGE_LOGS_MIGRATION.name;

/** `n` source rows (ids from `from`): every 17th a failed call with an error text. */
const seedSource = (db: Db, n: number, from = 1) =>
  db.exec(`
    insert into trimtab_examples.usage_logs (id, created_at, user_id, feature, provider, model, prompt_tokens,
      completion_tokens, cost, latency_ms, success, error)
    select g, now() - (g || ' seconds')::interval, 'user-' || (g % 977),
           (array['chat', 'summaries', 'search'])[1 + g % 3], 'openai', 'gpt-4o-mini', g % 500, g % 200,
           (g % 1000) / 1000000.0, g % 3000, g % 17 <> 0, case when g % 17 = 0 then 'rate limit: 429 (retry)' end
      from generate_series(${from}, ${from + n - 1}) g`);

const migrated = async (db: Db) =>
  (await db.query<Json>(
    `select count(*) as n, count(distinct metadata ->> 'original_id') as ids from trimtab.ai_usage_logs
      where metadata ->> 'migration' = $1`,
    [NAME],
  ))[0];

async function checks(t: Deno.TestContext, db: Db, tk: Tokens) {
  const api = (path: string, o: { token?: string; body?: unknown; method?: string } = {}) =>
    call(dataMigrations, req(`/data-migrations${path}`, { token: o.token ?? tk.service, ...o }));
  await seedSource(db, 500);

  await t.step("batches: a cursor per committed batch; stop, resume; validated at the end", async () => {
    const first = await api(`/${NAME}/run`, { body: { batchSize: 120, maxBatches: 2 } });
    eq(first.status, 200, JSON.stringify(first.body));
    const run = first.body.run;
    eq([first.body.done, run.status, run.copied, run.cursor, run.batches], [false, "running", 240, "240", 2]);
    eq(Number((await migrated(db)).n), 240, "the target holds exactly the committed batches");
    const stopped = await api(`/runs/${run.id}/stop`, { body: {} });
    eq(stopped.body.run.status, "stopped");
    eq((await api(`/runs/${run.id}/stop`, { body: {} })).body.error.code, "RUN_NOT_ACTIVE", "stop twice");
    const rest = await api(`/${NAME}/run`, { body: { batchSize: 120 } });
    eq(rest.body.run.id, run.id, "the stopped run resumed");
    eq(
      [rest.body.done, rest.body.run.status, rest.body.run.validated, rest.body.run.copied, rest.body.run.batches],
      [true, "completed", true, 500, 5],
    );
    eq([rest.body.run.sourceCount, rest.body.run.targetCount], [500, 500], "counts");
    eq(rest.body.run.sourceChecksum, rest.body.run.targetChecksum, "checksums");
    const m = await migrated(db);
    eq([Number(m.n), Number(m.ids)], [500, 500], "every row once");
    const [failed] = await db.query<Json>(
      `select pipeline, status, error_code, flag_key, metadata from trimtab.ai_usage_logs
        where metadata ->> 'migration' = $1 and metadata ->> 'original_id' = '17'`,
      [NAME],
    );
    eq([failed.pipeline, failed.status, failed.error_code, failed.flag_key], [
      "old",
      "error",
      "RATE_LIMIT_429_RETRY",
      null,
    ]);
    const meta = typeof failed.metadata === "string" ? JSON.parse(failed.metadata) : failed.metadata;
    eq([meta.original_id, meta.run], ["17", run.id], "the source id kept in metadata");
  });

  let second = 0, third = 0;
  await t.step(
    "idempotent: a second run copies nothing; a changed source row is backed up and overwritten",
    async () => {
      const again = await api(`/${NAME}/run`, { body: { batchSize: 200 } });
      second = again.body.run.id;
      eq([again.body.run.copied, again.body.run.unchanged, again.body.run.overwritten, again.body.run.validated], [
        0,
        500,
        0,
        true,
      ]);
      await db.exec("update trimtab_examples.usage_logs set latency_ms = 99999 where id in (3, 30, 300)");
      const changed = await api(`/${NAME}/run`, { body: { batchSize: 200 } });
      third = changed.body.run.id;
      eq([changed.body.run.copied, changed.body.run.overwritten, changed.body.run.validated], [0, 3, true]);
      const backups = await db.query<Json>(
        "select original_id, row from trimtab.migration_backups where run_id = $1 order by original_id::int",
        [third],
      );
      eq(backups.map((b) => b.original_id), ["3", "30", "300"], "backups of what was overwritten");
      const row = (b: Json) => typeof b.row === "string" ? JSON.parse(b.row) : b.row;
      eq(backups.map((b) => row(b).latency_ms), [3, 30, 300], "as it was");
      const now = await db.query<Json>(
        `select latency_ms from trimtab.ai_usage_logs where metadata ->> 'migration' = $1
          and metadata ->> 'original_id' in ('3', '30', '300')`,
        [NAME],
      );
      eq(now.map((r) => Number(r.latency_ms)), [99999, 99999, 99999], "overwritten");
      eq(Number((await migrated(db)).n), 500, "still one row per source row");
    },
  );

  await t.step("validation fails when the target lost a row; rollbacks go in order", async () => {
    await db.exec(
      `delete from trimtab.ai_usage_logs where metadata ->> 'migration' = '${NAME}' and metadata ->> 'original_id' = '5'`,
    );
    const v = await api(`/runs/${third}/validate`, { body: {} });
    eq([v.body.run.status, v.body.run.validated, v.body.run.sourceCount, v.body.run.targetCount], [
      "failed",
      false,
      500,
      499,
    ]);
    assert(v.body.run.sourceChecksum !== v.body.run.targetChecksum, "checksums differ");
    const early = await api(`/runs/${second}/rollback`, { body: {} });
    eq([early.status, early.body.error.code], [409, "ROLLBACK_ORDER"], "a later run stands");
    const undo3 = await api(`/runs/${third}/rollback`, { body: { reason: "test" } });
    eq([undo3.status, undo3.body.restored, undo3.body.deleted, undo3.body.run.status], [200, 3, 0, "rolled_back"]);
    const back = await db.query<Json>(
      `select latency_ms from trimtab.ai_usage_logs where metadata ->> 'migration' = $1
          and metadata ->> 'original_id' in ('3', '30', '300') order by latency_ms`,
      [NAME],
    );
    eq(back.map((r) => Number(r.latency_ms)), [3, 30, 300], "restored from the backups");
    eq((await api(`/runs/${second}/rollback`, { body: {} })).body.deleted, 0, "the idempotent run inserted nothing");
    const runs = await api(`/runs?migration=${NAME}`);
    const firstRun = runs.body.runs.at(-1).id;
    eq((await api(`/runs/${firstRun}/rollback`, { body: {} })).body.deleted, 499, "the first run's rows deleted");
    eq(Number((await migrated(db)).n), 0, "nothing of the migration left");
    eq((await api(`/runs/${firstRun}/rollback`, { body: {} })).body.error.code, "RUN_ROLLED_BACK", "twice");
  });

  await t.step("the function: listing, refusals", async () => {
    const list = await api("");
    eq(list.body.migrations.map((m: Json) => [m.name, m.source, m.target]), [[
      NAME,
      "trimtab_examples.usage_logs",
      "trimtab.ai_usage_logs",
    ]]);
    eq((await api("", { token: await tk.user("u1") })).status, 403, "users refused");
    eq((await api(`/nope/run`, { body: {} })).body.error.code, "UNKNOWN_MIGRATION");
    eq((await api(`/${NAME}/run`, { body: { batchSize: 0 } })).body.error.code, "INVALID_INPUT");
    eq((await api(`/${NAME}/run`, { body: { batch: 5 } })).body.error.code, "UNKNOWN_FIELD");
    eq((await api(`/runs/999999`)).body.error.code, "UNKNOWN_RUN");
    eq((await api(`/runs/abc`)).status, 400);
    eq((await api(`/runs`, { method: "POST", body: {} })).status, 405);
  });
}

onBothBackends("data migration usage_logs -> ai_usage_logs", checks);

Deno.test({
  name: "data migration: 100,000 rows, the CLI killed (SIGKILL) halfway and run again: every row once, validated",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPg();
    const db = await openDb({ url: pg.url, migrate: true, seed: true, max: 3, connectTimeout: 2 });
    const cli = (extra: string[] = []) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          "--allow-env",
          "--allow-read",
          "--node-modules-dir=manual",
          "scripts/migrate-data.ts",
          "run",
          NAME,
          "--db",
          pg.url,
          "--batch-size",
          "2000",
          ...extra,
        ],
        cwd: decodeURIComponent(ROOT.pathname),
        stdout: "piped",
        stderr: "piped",
      });
    const progress = async () => (await db.query<Json>(
      "select id, copied, status, batches from trimtab.migration_runs where migration = $1",
      [
        NAME,
      ],
    ));
    try {
      await seedSource(db, 100_000);
      const child = cli(["--throttle-ms", "20", "--quiet"]).spawn();
      const halfway = await eventually(
        async () => {
          const [r] = await progress();
          return r !== undefined && Number(r.copied) >= 30_000;
        },
        120_000,
        20,
      );
      assert(halfway, "the CLI copied 30,000 rows");
      child.kill("SIGKILL");
      const status = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      eq([status.success, status.signal], [false, "SIGKILL"], "killed");
      const [killed] = await progress();
      const copied = Number(killed.copied);
      assert(copied >= 30_000 && copied < 100_000, `killed halfway: ${copied}`);
      eq(killed.status, "running", "a killed run stays running (resumable)");
      const m = await migrated(db);
      eq([Number(m.n), Number(m.ids)], [copied, copied], "the target holds exactly the committed batches");

      const out = await cli().output();
      const text = new TextDecoder().decode(out.stdout);
      eq(out.code, 0, `resumed to the end: ${new TextDecoder().decode(out.stderr)}`);
      const lines = text.trim().split("\n").map((l) => JSON.parse(l));
      eq(
        [lines[0].run, Number(lines[0].resumedAfter)],
        [Number(killed.id), copied],
        "resumed the same run after its cursor",
      );
      const final = lines.at(-1);
      eq([final.done, final.run.status, final.run.validated], [true, "completed", true]);
      eq([final.run.copied, final.run.unchanged, final.run.overwritten, final.run.batches], [100_000, 0, 0, 50]);
      eq([final.run.sourceCount, final.run.targetCount], [100_000, 100_000], "counts validated");
      eq(final.run.sourceChecksum, final.run.targetChecksum, "checksums validated");
      const after = await migrated(db);
      eq([Number(after.n), Number(after.ids)], [100_000, 100_000], "every row exactly once");
      eq((await progress()).length, 1, "one run");
    } finally {
      await db.close();
      await pg.stop();
    }
  },
});
