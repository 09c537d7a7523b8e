//! Dev only: the embedded PGlite database, run in a Web Worker so that nothing it does can stall
//! the isolate serving requests (scripts/dev/pglite.ts is the other end, and says why).
//!
//! Messages in: `{ id, op: "open", dataDir }`, `{ id, op: "query", sql, params, tx? }`,
//! `{ id, op: "exec", sql, tx? }`, `{ id, op: "begin" }` (answers `{ tx }` once PGlite's transaction
//! has started), `{ id, op: "end", tx, commit }`, `{ id, op: "close" }`. Answers: `{ id, ok: true,
//! value }` or `{ id, ok: false, error }` (a database error as plain fields: message, code, ...).
//! Once PGlite has swallowed an exception that was not one of Postgres's own error exits (see
//! pglite.ts), every answer is the error `DB_BROKEN`: the handle must be thrown away.
import { PGlite, type Transaction } from "@electric-sql/pglite";

type Msg =
  | { id: number; op: "open"; dataDir: string }
  | { id: number; op: "query"; sql: string; params: unknown[]; tx?: number }
  | { id: number; op: "exec"; sql: string; tx?: number }
  | { id: number; op: "begin" }
  | { id: number; op: "end"; tx: number; commit: boolean }
  | { id: number; op: "close" };

let db: PGlite | null = null;
/** The exception PGlite swallowed, when it did: the backend's state can no longer be trusted. */
let broken: string | null = null;
let nextTx = 1;
const txs = new Map<number, { tx: Transaction; end: (commit: boolean) => void; done: Promise<void> }>();

/** The worker's global scope (the file is type-checked with the window's types). */
const scope = self as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<Msg>) => void) | null;
};
const post = (m: unknown) => scope.postMessage(m);

/** A database error as plain, cloneable fields. */
function plain(e: unknown): Record<string, unknown> {
  const o = e as Record<string, unknown>;
  const out: Record<string, unknown> = { name: String(o?.name ?? "Error"), message: String(o?.message ?? e) };
  for (const k of ["code", "severity", "detail", "hint", "constraint", "table", "column", "schema"]) {
    if (typeof o?.[k] === "string") out[k] = o[k];
  }
  return out;
}

/**
 * Watches PGlite's main-loop step: PGlite 0.5.16 (execProtocolRawSync) catches every exception a
 * step throws and carries on, which is right for Postgres's own error exit (a longjmp) and wrong
 * for anything else, e.g. V8's "Maximum call stack size exceeded" thrown from deep inside the
 * Wasm: Postgres was interrupted between two states, and its next ERROR never finishes.
 */
function watch(pg: PGlite): void {
  // deno-lint-ignore no-explicit-any
  const mod = (pg as any).mod;
  const longjmp = (pg as unknown as { POSTGRES_MAIN_LONGJMP?: unknown }).POSTGRES_MAIN_LONGJMP;
  const step = mod?._PostgresMainLoopOnce;
  if (typeof step !== "function") return;
  mod._PostgresMainLoopOnce = function (...args: unknown[]) {
    try {
      return step.apply(this, args);
    } catch (e) {
      if ((e as { status?: unknown })?.status !== longjmp) {
        broken ??= `${(e as Error)?.name ?? "Error"}: ${String((e as Error)?.message ?? e).slice(0, 200)}`;
      }
      throw e;
    }
  };
}

async function run(m: Msg): Promise<unknown> {
  if (m.op === "open") {
    db = await PGlite.create(m.dataDir);
    watch(db);
    return null;
  }
  if (!db) throw Object.assign(new Error("database not open"), { code: "DB_CLOSED" });
  if (broken) throw Object.assign(new Error(`embedded database broken: ${broken}`), { code: "DB_BROKEN" });
  const q = (tx?: number) => {
    if (tx === undefined) return db!;
    const t = txs.get(tx);
    if (!t) throw Object.assign(new Error("transaction is closed"), { code: "DB_CLOSED" });
    return t.tx;
  };
  switch (m.op) {
    case "query":
      return (await q(m.tx).query(m.sql, m.params)).rows;
    case "exec":
      await q(m.tx).exec(m.sql);
      return null;
    case "begin": {
      const id = nextTx++;
      const started = Promise.withResolvers<void>();
      const finished = Promise.withResolvers<boolean>();
      const done = Promise.withResolvers<void>();
      db.transaction(async (tx) => {
        txs.set(id, { tx, end: finished.resolve, done: done.promise });
        started.resolve();
        if (!(await finished.promise)) await tx.rollback();
      }).then(done.resolve, (e) => {
        started.reject(e);
        done.reject(e);
      }).finally(() => txs.delete(id));
      done.promise.catch(() => {}); // awaited by "end"; a failed BEGIN rejects `started` too
      await started.promise;
      return id;
    }
    case "end": {
      const t = txs.get(m.tx);
      if (!t) throw Object.assign(new Error("transaction is closed"), { code: "DB_CLOSED" });
      t.end(m.commit);
      await t.done;
      return null;
    }
    case "close":
      await db.close();
      db = null;
      return null;
  }
}

scope.onmessage = async (e: MessageEvent<Msg>) => {
  const m = e.data;
  try {
    const value = await run(m);
    // A step that swallowed an exception may still have "succeeded": its answer is not trusted.
    if (broken && m.op !== "close") {
      throw Object.assign(new Error(`embedded database broken: ${broken}`), { code: "DB_BROKEN" });
    }
    post({ id: m.id, ok: true, value });
  } catch (err) {
    post({ id: m.id, ok: false, error: plain(err), broken: broken !== null });
  }
};
