// Retention, on PGlite and a real Debian Postgres: trimtab.purge_safety_data() (what the weekly
// pg_cron job and the local stack's timer run) deletes usage rows older than 90 days, shadow
// comparisons older than 30 days and expired cache entries, and keeps the rest; on Postgres the
// retention migration, given a stand-in for pg_cron's cron.schedule, schedules the three purges
// (and where pg_cron is missing says so in a notice).
import postgres from "postgres";
import { purgeSafetyData } from "../../supabase/functions/_shared/safety/usage.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { assert, eq, onBothBackends, ROOT } from "./support.ts";

import type { Json } from "./support.ts";

const MIGRATION = "supabase/migrations/20261205000001_safety_alerts.sql";

async function rows(db: Db, days: number[], table: "ai_usage_logs" | "shadow_comparisons"): Promise<void> {
  for (const d of days) {
    if (table === "ai_usage_logs") {
      await db.query(
        `insert into trimtab.ai_usage_logs (at, feature, flag_key, pipeline, provider, status)
         values (now() - make_interval(days => $1::int), 'retention', 'r_flag', 'new', 'openai', 'ok')`,
        [d],
      );
    } else {
      await db.query(
        `insert into trimtab.shadow_comparisons (at, flag_key, similarity)
         values (now() - make_interval(days => $1::int), 'r_flag', 1)`,
        [d],
      );
    }
  }
}

onBothBackends("retention", async (t, db) => {
  await t.step("usage 90 days, shadow comparisons 30 days, expired cache entries", async () => {
    await rows(db, [1, 89, 91, 400], "ai_usage_logs");
    await rows(db, [1, 29, 31], "shadow_comparisons");
    await db.query(
      `insert into trimtab.response_cache (key, flag_key, response, expires_at) values
         ('live', 'r_flag', '{}'::jsonb, now() + interval '1 hour'), ('dead', 'r_flag', '{}'::jsonb, now() - interval '1 second')`,
    );
    eq(await purgeSafetyData(db), { usage: 2, shadow: 1, cache: 1 }, "what went");
    const ages = async (table: string) =>
      (await db.query<Json>(
        `select round(extract(epoch from now() - at) / 86400) as d from trimtab.${table} where flag_key = 'r_flag' order by 1`,
      )).map((r) => Number(r.d));
    eq(await ages("ai_usage_logs"), [1, 89], "usage kept");
    eq(await ages("shadow_comparisons"), [1, 29], "comparisons kept");
    eq((await db.query<Json>("select key from trimtab.response_cache")).map((r) => r.key), ["live"], "cache kept");
    let refused = "";
    try {
      await db.query("select trimtab.purge_safety_data(interval '1 hour', interval '30 days')");
    } catch (e) {
      refused = String((e as Error).message);
    }
    assert(/at least a day/.test(refused), `a keep under a day is refused: ${refused}`);
  });
}, {
  postgres: async (t, _db, _tk, pg) => {
    await t.step("the migration schedules the purges where pg_cron exists (stand-in), says so where not", async () => {
      const notices: string[] = [];
      const sql = postgres(pg.url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
      try {
        const text = await Deno.readTextFile(new URL(MIGRATION, ROOT));
        const schedule = text.slice(text.lastIndexOf("do $$"));
        await sql.unsafe(schedule);
        assert(notices.some((n) => /pg_cron not available here/.test(n)), JSON.stringify(notices));
        // A stand-in with the signature of pg_cron's cron.schedule (not packaged for Debian).
        await sql.unsafe(`
          create schema cron;
          create table cron.job (jobname text primary key, schedule text, command text);
          create function cron.schedule(job_name text, schedule text, command text) returns bigint language sql as
            'insert into cron.job values (job_name, schedule, command)
               on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
             returning 1::bigint';
        `);
        await sql.unsafe(schedule);
        const jobs = await sql`select jobname, schedule, command from cron.job order by jobname`;
        eq(jobs.map((j) => [j.jobname, j.schedule]), [
          ["trimtab-purge-response-cache", "7 * * * *"],
          ["trimtab-purge-safety-data", "43 3 * * 0"],
          ["trimtab-purge-webhook-events", "17 3 * * *"],
        ], "weekly, daily, hourly");
        assert(/purge_safety_data\(interval '90 days', interval '30 days'\)/.test(jobs[1].command), jobs[1].command);
        assert(/purge_webhook_events\(interval '7 days'\)/.test(jobs[2].command), jobs[2].command);
        for (const j of jobs) await sql.unsafe(String(j.command)); // each command runs as written
        await sql.unsafe("drop schema cron cascade");
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
  },
});
