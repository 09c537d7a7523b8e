// The migrations install into an existing project: a Debian Postgres that already has its own
// public.profiles (other columns), public.vouchers, public.alerts, public.is_admin() and a view
// gets every migration and the seed; afterwards schema public holds exactly what it held before,
// the project's rows are untouched, and every trimtab table (RLS on) is in schema trimtab. The
// schedule migration says in a notice that pg_cron / pg_net are missing here, and the guard job's
// function names what is missing (pg_net and Vault, then each Vault secret) and, given stand-ins
// for pg_net and Vault, posts to /functions/v1/flags-admin/guard with the secret key in `apikey`.
import postgres from "postgres";
import { openDb } from "../../scripts/dev/db.ts";
import { assert, eq, ROOT, startPg } from "./support.ts";

const STARTER = `
  create table public.profiles (
    id uuid primary key,
    username text unique,
    avatar_url text,
    updated_at timestamptz
  );
  create index profiles_username_idx on public.profiles (username);
  insert into public.profiles (id, username) values ('00000000-0000-4000-8000-000000000001', 'ann');
  create table public.vouchers (id bigint generated always as identity primary key, label text not null);
  create table public.alerts (id serial primary key, body text);
  create function public.is_admin() returns boolean language sql as 'select false';
  create function public.touch_updated_at() returns trigger language plpgsql as 'begin return new; end';
  create view public.profile_names as select username from public.profiles;
`;

type Sql = ReturnType<typeof postgres>;

const publicObjects = async (sql: Sql) => {
  const rel = await sql`select relname, relkind from pg_catalog.pg_class
                         where relnamespace = 'public'::regnamespace order by relname`;
  const fns = await sql`select proname from pg_catalog.pg_proc
                         where pronamespace = 'public'::regnamespace order by proname`;
  return { relations: rel.map((r) => `${r.relname}:${r.relkind}`), functions: fns.map((r) => r.proname) };
};

const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return String((e as Error).message);
  }
  throw new Error("expected an error");
};

Deno.test({
  name: "schema: migrations install next to a project's own public.profiles; nothing of trimtab in public",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const pg = await startPg();
    const notices: string[] = [];
    const sql = postgres(pg.url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
    try {
      await sql.unsafe(STARTER);
      const before = await publicObjects(sql);
      const db = await openDb({ url: pg.url, migrate: true, seed: true, max: 2, connectTimeout: 2 });
      try {
        await t.step("every migration applied, the seed too", async () => {
          const applied = await db.query<{ name: string }>("select name from trimtab.schema_migrations order by name");
          const files = [...Deno.readDirSync(new URL("supabase/migrations/", ROOT))].map((e) => e.name).sort();
          eq(applied.map((r) => r.name), files, "recorded migrations");
          const [n] = await db.query<{ n: unknown }>("select count(*) as n from trimtab.feature_flags");
          assert(Number(n.n) >= 9, "seeded flags");
        });

        await t.step("schema public holds what it held before, the project's rows untouched", async () => {
          eq(await publicObjects(sql), before, "public relations and functions");
          const rows = await sql`select id::text, username, avatar_url from public.profiles`;
          eq(rows.map((r) => [r.id, r.username, r.avatar_url]), [[
            "00000000-0000-4000-8000-000000000001",
            "ann",
            null,
          ]]);
        });

        await t.step("trimtab's tables are in schema trimtab, all with row-level security", async () => {
          const tables = await sql`select relname, relrowsecurity from pg_catalog.pg_class
                                    where relnamespace = 'trimtab'::regnamespace and relkind = 'r' order by relname`;
          const names = tables.map((r) => r.relname);
          for (const n of ["customers", "feature_flags", "vouchers", "alerts", "ai_usage_logs", "schema_migrations"]) {
            assert(names.includes(n), `trimtab.${n} exists`);
          }
          eq(tables.filter((r) => !r.relrowsecurity).map((r) => r.relname), [], "tables without RLS");
        });

        await t.step("a customer, a voucher and the admin check work in schema trimtab", async () => {
          await db.tx(async (tx) => {
            await tx.query("insert into trimtab.customers (phone) values ('+250788000111')");
            await tx.query(
              `insert into trimtab.vouchers (code, customer_id, amount_minor, currency, expires_at)
               select 'TT-TEST-0001-X', id, 500, 'RWF', now() + interval '1 day' from trimtab.customers
                where phone = '+250788000111'`,
            );
          });
          const admin = await db.asUser(
            { sub: "a", role: "authenticated", app_metadata: { role: "admin" } },
            (q) => q.query<{ a: boolean }>("select trimtab.is_admin() as a"),
          );
          eq(admin[0].a, true, "trimtab.is_admin() for an admin");
          eq((await sql`select public.is_admin() as a`)[0].a, false, "the project's own is_admin() is untouched");
        });
      } finally {
        await db.close();
      }

      await t.step(
        "schedule migration: a notice where pg_cron and pg_net do not exist; nothing scheduled",
        async () => {
          notices.length = 0;
          await sql.unsafe(await Deno.readTextFile(new URL("supabase/migrations/20261127000003_schedule.sql", ROOT)));
          assert(
            notices.some((n) => /pg_net, pg_cron not available here/.test(n) && /local stack/.test(n)),
            `notice: ${JSON.stringify(notices)}`,
          );
          eq((await sql`select to_regnamespace('cron') is null as none`)[0].none, true, "no cron schema");
        },
      );

      await t.step("the guard job's function says what is missing, then posts with the secret key", async () => {
        const noNet = await failure(sql`select trimtab.call_guard()`);
        assert(/pg_net and Vault are needed/.test(noNet), noNet);
        // Stand-ins with the signatures of Vault's view and pg_net's function (neither is packaged
        // for Debian): a table of secrets, and an http_post that records the request.
        await sql.unsafe(`
          create schema vault;
          create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
          create schema net;
          create table net.requests (id bigint generated always as identity, url text, headers jsonb, body jsonb);
          create function net.http_post(url text, headers jsonb, body jsonb, timeout_milliseconds int)
            returns bigint language sql as
            'insert into net.requests (url, headers, body) values (url, headers, body) returning id';
        `);
        const noUrl = await failure(sql`select trimtab.call_guard()`);
        assert(/Vault secret trimtab_project_url is missing/.test(noUrl), noUrl);
        await sql`insert into vault.decrypted_secrets values ('trimtab_project_url', 'https://ref.supabase.co/')`;
        const noKey = await failure(sql`select trimtab.call_guard()`);
        assert(/Vault secret trimtab_secret_key is missing/.test(noKey), noKey);
        await sql`insert into vault.decrypted_secrets values ('trimtab_secret_key', 'sb_secret_test123')`;
        const [{ id }] = await sql`select trimtab.call_guard() as id`;
        const [r] = await sql`select url, headers, body from net.requests where id = ${id}`;
        eq(r.url, "https://ref.supabase.co/functions/v1/flags-admin/guard", "url");
        eq([r.headers.apikey, r.headers.authorization], ["sb_secret_test123", undefined], "apikey header");
        eq(r.body, {}, "body");
      });
    } finally {
      await sql.end({ timeout: 5 });
      await pg.stop();
    }
  },
});
