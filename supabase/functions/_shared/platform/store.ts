//! The one database handle of this isolate. Functions call `getDb()`; it opens the database once
//! and shares it; a failed open is retried on the next call. Where the handle comes from:
//! - on Supabase (and anywhere SUPABASE_DB_URL is set): postgres.js on that URL;
//! - a factory installed with `setDbFactory` (the local stack, scripts/serve.ts, installs the
//!   dev database: PGlite under .data/, migrated and seeded), so this module never imports PGlite;
//! - a handle given with `useDb` (tests), which also resets the caches keyed to the database.
import { type Db, openPostgres } from "./db.ts";
import { env, envPositive } from "./env.ts";

/** Opens a database (the local stack's dev database, for example). */
export type DbFactory = () => Promise<Db>;

let current: Promise<Db> | null = null;
let factory: DbFactory | null = null;
const resetHooks: (() => void)[] = [];

/** Thrown when neither SUPABASE_DB_URL nor a factory says where the database is. */
export class DbNotConfigured extends Error {
  readonly code = "DB_NOT_CONFIGURED";
  constructor() {
    super(
      "no database: SUPABASE_DB_URL is not set (Supabase sets it; locally run the functions through scripts/serve.ts)",
    );
  }
}

function open(): Promise<Db> {
  if (factory) return factory();
  const url = env("SUPABASE_DB_URL");
  if (!url) return Promise.reject(new DbNotConfigured());
  return Promise.resolve(
    openPostgres(url, {
      connectTimeout: envPositive("TRIMTAB_DB_CONNECT_TIMEOUT_S"),
      statementTimeoutMs: envPositive("TRIMTAB_DB_QUERY_TIMEOUT_MS"),
    }),
  );
}

/** The handle `current` resolved to (to notice it broke). */
let opened: Db | null = null;

/** The isolate's database (opened on first use; opened again when the handle broke). */
export function getDb(): Promise<Db> {
  if (current && opened?.broken?.()) {
    // An embedded database given up on (scripts/dev/pglite.ts): a new handle, fresh caches.
    const old = opened;
    current = opened = null;
    old.close().catch(() => {});
    for (const h of resetHooks) h();
  }
  if (!current) {
    const p = open();
    current = p;
    p.then((db) => {
      if (current === p) opened = db;
    }, () => {
      if (current === p) current = null;
    });
  }
  return current;
}

/** Opens the database with `f` from now on (null: from SUPABASE_DB_URL). Takes effect on the next
 *  open: call it before the first `getDb()`, or together with `useDb(null)`. */
export function setDbFactory(f: DbFactory | null): void {
  factory = f;
}

/** Uses `db` from now on (null: open again on next use). Caches keyed to the database reset. */
export function useDb(db: Db | null): void {
  current = db ? Promise.resolve(db) : null;
  opened = db;
  for (const h of resetHooks) h();
}

/** Registers a hook run whenever the database handle changes (caches keyed to it reset). */
export function onDbChange(hook: () => void): void {
  resetHooks.push(hook);
}
