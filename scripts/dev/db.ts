//! Dev-only database for the local stack, tests and benchmarks: `openDb` opens PGlite (embedded,
//! under .data/pglite unless told otherwise) or a Postgres URL through the edge functions' own
//! postgres.js driver, applies the compatibility bootstrap and the migrations, and seeds the flags
//! (supabase/seed.sql: every flag off) and, for the local stack, the demo state on top
//! (scripts/dev/demo-seed.sql: ramps in progress, a rule, variants, an override). No edge function
//! imports this module (tests/deno/bundle_test.ts walks their module
//! graphs): on Supabase, `supabase db push` applies the migrations and the functions only query.
//!
//! Migrating = supabase/bootstrap/00_supabase_compat.sql (roles + auth.*; skipped when the database
//! looks like Supabase), then supabase/migrations/*.sql in name order, each once, in its own
//! transaction, recorded in trimtab.schema_migrations.
import {
  type Backend,
  type Db,
  dbFromBackend,
  postgresBackend,
  type Queryable,
} from "../../supabase/functions/_shared/platform/db.ts";
import { pgliteBackend } from "./pglite.ts";

export { pgliteBackend } from "./pglite.ts";

/** A database the dev tooling manages: also migrates and seeds. */
export interface DevDb extends Db {
  /** Applies bootstrap (unless Supabase) and pending migrations; returns the versions applied. */
  migrate(opts?: { bootstrap?: boolean }): Promise<string[]>;
  /** Applies supabase/seed.sql (and with `demo`, scripts/dev/demo-seed.sql on top) when
   *  trimtab.feature_flags is empty; returns whether it ran. */
  seed(opts?: { demo?: boolean }): Promise<boolean>;
}

export interface OpenOptions {
  /** Postgres URL; defaults to SUPABASE_DB_URL. Empty string forces PGlite. */
  url?: string;
  /** PGlite data dir; defaults to TRIMTAB_PGLITE_DIR or <repo>/.data/pglite ("memory://" works). */
  dataDir?: string;
  /** Migrate at open; default: true for PGlite, false for a URL. */
  migrate?: boolean;
  /** Seed at open when the flags table is empty: `"demo"` applies supabase/seed.sql and the demo
   *  state (the local stack's database), `true` the production seed alone, `false` nothing.
   *  Default: `"demo"` for a migrated PGlite, else false. */
  seed?: boolean | "demo";
  /** Apply the Supabase compatibility bootstrap before migrating; default true (it is always
   *  skipped on a database that has Supabase's `supabase_admin` role). */
  bootstrap?: boolean;
  /** postgres.js pool size (default 5). */
  max?: number;
  /** postgres.js connect timeout in seconds (default 5). */
  connectTimeout?: number;
}

const SUPABASE_DIR = new URL("../../supabase/", import.meta.url);
const REPO_ROOT = new URL("../../", import.meta.url);

function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// migrations

async function sqlFiles(dir: URL): Promise<{ version: string; name: string; url: URL }[]> {
  const files: { version: string; name: string; url: URL }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".sql")) continue;
    files.push({ version: e.name.split("_")[0], name: e.name, url: new URL(e.name, dir) });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // The version is the key in schema_migrations (ours and the Supabase CLI's): two files with one
  // version would leave the second unapplied, silently.
  const dup = files.find((f, i) => i > 0 && files[i - 1].version === f.version);
  if (dup) throw new Error(`two migrations share the version ${dup.version} (${dup.name}): rename one`);
  return files;
}

async function isSupabase(q: Queryable): Promise<boolean> {
  const [r] = await q.query<{ s: boolean }>(
    "select exists (select 1 from pg_catalog.pg_roles where rolname = 'supabase_admin') as s",
  );
  return Boolean(r?.s);
}

const MIGRATIONS_TABLE = `
create schema if not exists trimtab;
create table if not exists trimtab.schema_migrations (
  version    text primary key,
  name       text not null,
  applied_at timestamptz not null default now()
);
alter table trimtab.schema_migrations enable row level security;
revoke all on trimtab.schema_migrations from anon, authenticated;
`;

async function migrate(b: Backend, bootstrap: boolean): Promise<string[]> {
  if (bootstrap && !(await isSupabase(b))) {
    const text = await Deno.readTextFile(new URL("bootstrap/00_supabase_compat.sql", SUPABASE_DIR));
    await b.tx((q) => q.exec(text));
  }
  await b.tx(async (q) => {
    await q.query("select pg_advisory_xact_lock(727100)");
    await q.exec(MIGRATIONS_TABLE);
  });
  const applied: string[] = [];
  for (const f of await sqlFiles(new URL("migrations/", SUPABASE_DIR))) {
    const text = await Deno.readTextFile(f.url);
    const did = await b.tx(async (q) => {
      await q.query("select pg_advisory_xact_lock(727100)");
      const done = await q.query("select 1 from trimtab.schema_migrations where version = $1", [f.version]);
      if (done.length) return false;
      await q.exec(text);
      await q.query("insert into trimtab.schema_migrations (version, name) values ($1, $2)", [f.version, f.name]);
      return true;
    });
    if (did) applied.push(f.version);
  }
  return applied;
}

const DEMO_SEED = new URL("demo-seed.sql", import.meta.url);

async function seed(b: Backend, demo: boolean): Promise<boolean> {
  const [r] = await b.query<{ n: unknown }>("select count(*) as n from trimtab.feature_flags");
  if (Number(r?.n ?? 0) > 0) return false;
  // The seeds wrap themselves in begin/commit (for psql); here each transaction is ours.
  const sql = async (url: URL) => (await Deno.readTextFile(url)).replace(/^\s*(begin|commit);\s*$/gim, "");
  const production = await sql(new URL("seed.sql", SUPABASE_DIR));
  await b.tx((q) => q.exec(production));
  if (demo) {
    const state = await sql(DEMO_SEED);
    await b.tx((q) => q.exec(state));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

/** Opens (and by default migrates and seeds) the database described by `opts`. */
export async function openDb(opts: OpenOptions = {}): Promise<DevDb> {
  const url = opts.url ?? envVar("SUPABASE_DB_URL") ?? "";
  const b = url ? postgresBackend(url, { max: opts.max, connectTimeout: opts.connectTimeout }) : await pgliteBackend(
    opts.dataDir ?? envVar("TRIMTAB_PGLITE_DIR") ?? decodeURIComponent(new URL(".data/pglite", REPO_ROOT).pathname),
  );
  const db: DevDb = {
    ...dbFromBackend(b),
    migrate: (o) => migrate(b, o?.bootstrap ?? opts.bootstrap ?? true),
    seed: (o) => seed(b, o?.demo ?? false),
  };
  const doMigrate = opts.migrate ?? !url;
  const seeding = opts.seed ?? (doMigrate && !url ? "demo" : false);
  try {
    if (doMigrate) await db.migrate();
    if (seeding) await db.seed({ demo: seeding === "demo" });
  } catch (e) {
    await b.close().catch(() => {});
    throw e;
  }
  return db;
}
