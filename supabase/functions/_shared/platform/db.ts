// Database access for the edge functions (Deno).
//
// - `SUPABASE_DB_URL` set (Supabase sets it for edge functions): `npm:postgres` (postgres.js).
//   Migrations are NOT applied by default there; Supabase applies supabase/migrations itself.
// - unset: an embedded PGlite database under `.data/pglite` (or `TRIMTAB_PGLITE_DIR`,
//   or `opts.dataDir`, e.g. "memory://"), migrated (and by default seeded) at open.
//
// Migrating = supabase/bootstrap/00_supabase_compat.sql (roles + auth.*; skipped when the
// database looks like Supabase), then supabase/migrations/*.sql in name order, each once, in its own
// transaction, recorded in public.schema_migrations.
//
// Query parameters: strings, numbers, booleans, null, Date; plain objects and arrays are sent as
// JSON text: cast them with `$n::text::jsonb` (a bare `$n::jsonb` makes postgres.js encode the
// text as a JSON string a second time; PGlite accepts either). Results are plain row objects; note numeric and int8
// columns may come back as strings (postgres.js) or numbers/bigints (PGlite): normalise with
// Number()/String() as snapshotFromRows does.

// Inline npm: specifiers on purpose: `supabase functions deploy` resolves them without an import
// map; locally they resolve from node_modules/ (package.json pins the same versions).
// deno-lint-ignore no-import-prefix
import postgres from "npm:postgres@3.4.9";
// deno-lint-ignore no-import-prefix
import { PGlite } from "npm:@electric-sql/pglite@0.5.16";
import { env } from "./env.ts";

export type Row = Record<string, unknown>;
export type Param = string | number | boolean | null | undefined | Date | bigint | Row | unknown[];

/** JWT claims as Supabase puts them in `request.jwt.claims`. */
export interface Claims {
  sub?: string;
  role?: string;
  email?: string;
  app_metadata?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface AuditInfo {
  actor?: string;
  action?: string;
  reason?: string;
}

export interface Queryable {
  query<T = Row>(sql: string, params?: Param[]): Promise<T[]>;
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
}

export interface Tx extends Queryable {
  /** Describes this transaction's changes for the audit trigger (transaction-local settings). */
  audit(info: AuditInfo): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: "postgres" | "pglite";
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** fn runs in a transaction as the API role of the claims (anon / authenticated / service_role;
   *  default authenticated) with `request.jwt.claims` set, so RLS applies as on Supabase. */
  asUser<T>(claims: Claims, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Applies bootstrap (unless Supabase) and pending migrations; returns the versions applied. */
  migrate(opts?: { bootstrap?: boolean }): Promise<string[]>;
  /** Applies supabase/seed.sql when feature_flags is empty; returns whether it ran. */
  seed(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Postgres URL; defaults to SUPABASE_DB_URL. Empty string forces PGlite. */
  url?: string;
  /** PGlite data dir; defaults to TRIMTAB_PGLITE_DIR or <repo>/.data/pglite. */
  dataDir?: string;
  /** Migrate at open; default: true for PGlite, false for a URL. */
  migrate?: boolean;
  /** Seed demo flags at open when the flags table is empty; default: same as migrate for PGlite. */
  seed?: boolean;
  /** Apply the Supabase compatibility bootstrap before migrating; default true (it is always
   *  skipped on a database that has Supabase's `supabase_admin` role). */
  bootstrap?: boolean;
  /** postgres.js pool size (default 5). */
  max?: number;
  /** postgres.js connect timeout in seconds (default 5, so a dead database fails fast and the
   *  caller can serve its last good snapshot). */
  connectTimeout?: number;
}

const SUPABASE_DIR = new URL("../../..", import.meta.url);
const REPO_ROOT = new URL("../", SUPABASE_DIR);
const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

function toParam(p: Param): unknown {
  if (p === undefined) return null;
  if (p === null || typeof p !== "object" || p instanceof Date || p instanceof Uint8Array) return p;
  return JSON.stringify(p);
}

function makeTx(q: Queryable): Tx {
  return {
    query: q.query.bind(q),
    exec: q.exec.bind(q),
    async audit(info: AuditInfo) {
      await q.query(
        "select set_config('trimtab.actor', $1, true), set_config('trimtab.action', $2, true), set_config('trimtab.reason', $3, true)",
        [info.actor ?? "", info.action ?? "", info.reason ?? ""],
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// backends

interface Backend extends Queryable {
  kind: "postgres" | "pglite";
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function postgresBackend(url: string, max: number, connectTimeout: number): Backend {
  const sql = postgres(url, {
    max,
    connect_timeout: connectTimeout,
    idle_timeout: 30,
    prepare: false, // works through Supabase's transaction pooler too
    onnotice: () => {},
    connection: { application_name: "trimtab" },
  });
  // deno-lint-ignore no-explicit-any
  const wrap = (s: any): Queryable => ({
    async query<T>(text: string, params: Param[] = []) {
      const rows = await s.unsafe(text, params.map(toParam));
      return Array.from(rows) as T[];
    },
    async exec(text: string) {
      await s.unsafe(text);
    },
  });
  const root = wrap(sql);
  return {
    kind: "postgres",
    ...root,
    // deno-lint-ignore no-explicit-any
    tx: <T>(fn: (q: Queryable) => Promise<T>) => sql.begin((t: any) => fn(wrap(t))) as Promise<T>,
    close: () => sql.end({ timeout: 5 }),
  };
}

async function pgliteBackend(dataDir: string): Promise<Backend> {
  if (!dataDir.includes("://")) await Deno.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  // deno-lint-ignore no-explicit-any
  const wrap = (d: any): Queryable => ({
    async query<T>(text: string, params: Param[] = []) {
      const res = await d.query(text, params.map(toParam));
      return res.rows as T[];
    },
    async exec(text: string) {
      await d.exec(text);
    },
  });
  const root = wrap(db);
  return {
    kind: "pglite",
    ...root,
    // deno-lint-ignore no-explicit-any
    tx: <T>(fn: (q: Queryable) => Promise<T>) => db.transaction((t: any) => fn(wrap(t))) as Promise<T>,
    close: () => db.close(),
  };
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
  return files;
}

async function isSupabase(q: Queryable): Promise<boolean> {
  const [r] = await q.query<{ s: boolean }>(
    "select exists (select 1 from pg_catalog.pg_roles where rolname = 'supabase_admin') as s",
  );
  return Boolean(r?.s);
}

const MIGRATIONS_TABLE = `
create table if not exists public.schema_migrations (
  version    text primary key,
  name       text not null,
  applied_at timestamptz not null default now()
);
alter table public.schema_migrations enable row level security;
revoke all on public.schema_migrations from anon, authenticated;
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
      const done = await q.query("select 1 from public.schema_migrations where version = $1", [f.version]);
      if (done.length) return false;
      await q.exec(text);
      await q.query("insert into public.schema_migrations (version, name) values ($1, $2)", [f.version, f.name]);
      return true;
    });
    if (did) applied.push(f.version);
  }
  return applied;
}

async function seed(b: Backend): Promise<boolean> {
  const [r] = await b.query<{ n: unknown }>("select count(*) as n from public.feature_flags");
  if (Number(r?.n ?? 0) > 0) return false;
  // seed.sql wraps itself in begin/commit (for psql); here the transaction is ours.
  const text = (await Deno.readTextFile(new URL("seed.sql", SUPABASE_DIR))).replace(/^\s*(begin|commit);\s*$/gim, "");
  await b.tx((q) => q.exec(text));
  return true;
}

// ---------------------------------------------------------------------------------------------

export async function openDb(opts: OpenOptions = {}): Promise<Db> {
  const url = opts.url ?? env("SUPABASE_DB_URL") ?? "";
  const b = url ? postgresBackend(url, opts.max ?? 5, opts.connectTimeout ?? 5) : await pgliteBackend(
    opts.dataDir ?? env("TRIMTAB_PGLITE_DIR") ?? decodeURIComponent(new URL(".data/pglite", REPO_ROOT).pathname),
  );
  const db: Db = {
    kind: b.kind,
    query: b.query.bind(b),
    exec: b.exec.bind(b),
    tx: (fn) => b.tx((q) => fn(makeTx(q))),
    asUser: (claims, fn) =>
      b.tx(async (q) => {
        const role = typeof claims.role === "string" && API_ROLES.has(claims.role) ? claims.role : "authenticated";
        await q.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
        await q.exec(`set local role ${role}`); // role is one of API_ROLES: safe to interpolate
        return fn(makeTx(q));
      }),
    migrate: (o) => migrate(b, o?.bootstrap ?? opts.bootstrap ?? true),
    seed: () => seed(b),
    close: () => b.close(),
  };
  const doMigrate = opts.migrate ?? !url;
  try {
    if (doMigrate) await db.migrate();
    if (opts.seed ?? (doMigrate && !url)) await db.seed();
  } catch (e) {
    await b.close().catch(() => {});
    throw e;
  }
  return db;
}

// ---------------------------------------------------------------------------------------------
// snapshot

export interface FlagRow {
  key: string;
  enabled: boolean;
  admin_override: string | null;
  rollout_percentage: string | number;
  salt: string | null;
  stickiness: string | null;
  rules: unknown[] | string | null;
  variants: unknown[] | string | null;
  prerequisites: unknown[] | string | null;
  stages: (string | number)[] | null;
  schedule: unknown[] | string | null;
  client_visible: boolean;
  [k: string]: unknown;
}

export interface OverrideRow {
  flag_key: string;
  unit: string;
  enabled: boolean;
  variant: string | null;
  expires_at: Date | string | null;
  reason: string | null;
  [k: string]: unknown;
}

export interface SnapshotFlag {
  key: string;
  enabled: boolean;
  adminOverride: "on" | "off" | null;
  rollout: number;
  salt?: string;
  stickiness?: string;
  rules?: unknown[];
  variants?: unknown[];
  prerequisites?: unknown[];
  stages?: number[];
  schedule?: unknown[];
  clientVisible: boolean;
}

export interface SnapshotOverride {
  flag: string;
  unit: string;
  enabled: boolean;
  variant?: string;
  expiresAt?: string;
  reason?: string;
}

export interface Snapshot {
  version: string;
  flags: SnapshotFlag[];
  overrides: SnapshotOverride[];
}

const json = (v: unknown): unknown[] | undefined => {
  if (v === null || v === undefined) return undefined;
  const parsed = typeof v === "string" ? JSON.parse(v) : v;
  return Array.isArray(parsed) ? parsed : undefined;
};

const iso = (v: Date | string | null): string | undefined => {
  if (v === null || v === undefined) return undefined;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};

/**
 * Turns feature_flags and user_feature_overrides rows into the design's snapshot JSON.
 * Options: `clientOnly` keeps only client_visible flags (the browser snapshot); `now` drops
 * overrides expired at that time; overrides of flags not in the snapshot are always dropped
 * (the engine rejects overrides of unknown flags).
 */
export function snapshotFromRows(
  version: string | number | bigint,
  flags: FlagRow[],
  overrides: OverrideRow[] = [],
  opts: { clientOnly?: boolean; now?: Date } = {},
): Snapshot {
  const out: SnapshotFlag[] = [];
  for (const r of flags) {
    if (opts.clientOnly && !r.client_visible) continue;
    const f: SnapshotFlag = {
      key: r.key,
      enabled: Boolean(r.enabled),
      adminOverride: r.admin_override === "on" || r.admin_override === "off" ? r.admin_override : null,
      rollout: Number(r.rollout_percentage),
      clientVisible: Boolean(r.client_visible),
    };
    if (r.salt) f.salt = r.salt;
    if (r.stickiness && r.stickiness !== "userId") f.stickiness = r.stickiness;
    const rules = json(r.rules), variants = json(r.variants), prereq = json(r.prerequisites), sched = json(r.schedule);
    if (rules) f.rules = rules;
    if (variants) f.variants = variants;
    if (prereq) f.prerequisites = prereq;
    if (r.stages) f.stages = r.stages.map(Number);
    if (sched) f.schedule = sched;
    out.push(f);
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keys = new Set(out.map((f) => f.key));
  const now = opts.now?.getTime();
  const ovs: SnapshotOverride[] = [];
  for (const o of overrides) {
    if (!keys.has(o.flag_key)) continue;
    const expiresAt = iso(o.expires_at);
    if (now !== undefined && expiresAt && Date.parse(expiresAt) <= now) continue;
    const s: SnapshotOverride = { flag: o.flag_key, unit: o.unit, enabled: Boolean(o.enabled) };
    if (o.variant) s.variant = o.variant;
    if (expiresAt) s.expiresAt = expiresAt;
    if (o.reason) s.reason = o.reason;
    ovs.push(s);
  }
  return { version: String(version), flags: out, overrides: ovs };
}

/** Reads the whole snapshot. Given a Db, in one new transaction (a consistent version) as the
 *  connecting role; given a Tx (e.g. inside asUser), in that transaction, so RLS applies. */
export async function loadSnapshot(
  src: Db | Tx,
  opts: { clientOnly?: boolean; now?: Date; unit?: string } = {},
): Promise<Snapshot> {
  const read = async (q: Queryable) => {
    const [v] = await q.query<{ version: unknown }>("select version from public.flag_config_version where id");
    const flags = await q.query<FlagRow>("select * from public.feature_flags order by key");
    const overrides = opts.unit === undefined
      ? await q.query<OverrideRow>("select * from public.user_feature_overrides order by flag_key, unit")
      : await q.query<OverrideRow>("select * from public.user_feature_overrides where unit = $1 order by flag_key", [
        opts.unit,
      ]);
    return snapshotFromRows(String(v?.version ?? "0"), flags, overrides, opts);
  };
  return "tx" in src ? await src.tx(read) : await read(src);
}
