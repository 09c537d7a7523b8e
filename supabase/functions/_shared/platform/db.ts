//! Database access for the edge functions: the `Db` handle every module queries through, and its
//! one driver, postgres.js (`openPostgres`, what `store.ts` opens from SUPABASE_DB_URL). Nothing
//! here migrates or seeds: Supabase applies supabase/migrations itself (`supabase db push`); the
//! local stack and the tests bring their own database (scripts/dev/db.ts: PGlite, migrations, seed)
//! through the same `Backend` interface, so no function's module graph holds PGlite.
//!
//! Query parameters: strings, numbers, booleans, null, Date; plain objects and arrays are sent as
//! JSON text: cast them with `$n::text::jsonb` (a bare `$n::jsonb` makes postgres.js encode the
//! text as a JSON string a second time). Results are plain row objects; numeric and int8 columns
//! may come back as strings (postgres.js) or numbers/bigints (PGlite): normalise with Number() /
//! String(). Every trimtab table lives in the schema `trimtab`; queries name it (`trimtab.x`).
import postgres from "postgres";

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
  /** True once the handle cannot be used any more (an embedded database that was given up on):
   *  the store then opens a new one. */
  broken(): boolean;
  close(): Promise<void>;
}

/** A driver: what `dbFromBackend` turns into a `Db` (postgres.js here, PGlite in scripts/dev/). */
export interface Backend extends Queryable {
  kind: "postgres" | "pglite";
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** See `Db.broken` (absent: never). */
  broken?(): boolean;
  close(): Promise<void>;
}

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

/** A query parameter as the drivers take it (objects and arrays as JSON text). */
export function toParam(p: Param): unknown {
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

/** The `Db` over a driver: transactions with audit settings, and `asUser` (RLS as on Supabase). */
export function dbFromBackend(b: Backend): Db {
  return {
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
    broken: () => b.broken?.() ?? false,
    close: () => b.close(),
  };
}

/** postgres.js options of `openPostgres`. */
export interface PostgresOptions {
  /** Pool size (default 5). */
  max?: number;
  /** Connect timeout in seconds (default 5), so a dead database fails fast and the caller can
   *  serve its last good snapshot. */
  connectTimeout?: number;
  /** Server-side limit of one statement in ms (`statement_timeout`; default 10000; 0: none). */
  statementTimeoutMs?: number;
}

/** The postgres.js driver for `url` (no connection is made until the first query). */
export function postgresBackend(url: string, opts: PostgresOptions = {}): Backend {
  const sql = postgres(url, {
    max: opts.max ?? 5,
    connect_timeout: opts.connectTimeout ?? 5,
    idle_timeout: 30,
    prepare: false, // works through Supabase's transaction pooler too
    onnotice: () => {},
    connection: {
      application_name: "trimtab",
      // No statement runs away with a connection: past this Postgres cancels it (57014).
      statement_timeout: Math.max(0, Math.round(opts.statementTimeoutMs ?? 10_000)),
    },
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

/** A `Db` on the Postgres at `url` through postgres.js. */
export function openPostgres(url: string, opts: PostgresOptions = {}): Db {
  return dbFromBackend(postgresBackend(url, opts));
}
