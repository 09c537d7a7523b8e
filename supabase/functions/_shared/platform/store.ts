// The one database handle of this isolate. Functions call `getDb()`; it opens the database once
// (SUPABASE_DB_URL through npm:postgres, else the embedded PGlite under .data/, migrated and seeded)
// and shares it. A failed open is retried on the next call. Tests and the local router may inject
// a handle with `useDb()`, which also drops the per-isolate flag config cache.
import { type Db, openDb, type OpenOptions } from "./db.ts";

let current: Promise<Db> | null = null;
const resetHooks: (() => void)[] = [];

/** The isolate's database (opened on first use). */
export function getDb(): Promise<Db> {
  if (!current) {
    const p = openDb(openOptions());
    current = p;
    p.catch(() => {
      if (current === p) current = null;
    });
  }
  return current;
}

/** Uses `db` from now on (null: open from the environment again on next use). Caches reset. */
export function useDb(db: Db | null): void {
  current = db ? Promise.resolve(db) : null;
  for (const h of resetHooks) h();
}

/** Registers a hook run whenever the database handle changes (caches keyed to it reset). */
export function onDbChange(hook: () => void): void {
  resetHooks.push(hook);
}

function openOptions(): OpenOptions {
  let timeout: number | undefined;
  try {
    const v = Number(Deno.env.get("TRIMTAB_DB_CONNECT_TIMEOUT_S"));
    if (Number.isFinite(v) && v > 0) timeout = v;
  } catch {
    // no env access
  }
  return { connectTimeout: timeout ?? 2 };
}
