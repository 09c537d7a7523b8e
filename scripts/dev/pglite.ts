//! Dev only: the PGlite driver of the local stack, the tests and the benchmarks, with PGlite in a
//! Web Worker (scripts/dev/pglite_worker.ts) rather than in the isolate that serves requests.
//!
//! Why: PGlite runs Postgres synchronously inside its Wasm. When something makes it spin (seen:
//! a JSON text nested ~7,000 deep overflows V8's native stack inside Postgres, whatever
//! `max_stack_depth` says; PGlite 0.5.16 swallows the RangeError, and the next ERROR loops
//! forever: docs/database.md), an in-process handle blocks the event loop: no timer, no other
//! request, not /health, not even SIGTERM's handler can run. In a worker only the worker spins,
//! so this side can give up on it:
//! - every operation has a deadline (`queryTimeoutMs`, TRIMTAB_DB_QUERY_TIMEOUT_MS, default 10 s;
//!   multi-statement `exec`, i.e. migrations and seeds, 60 s); a missed one terminates the worker,
//!   fails what was pending with `DB_TIMEOUT`, and marks the handle broken;
//! - the worker reports an exception PGlite swallowed (`DB_BROKEN`) and is terminated too;
//! - a broken handle answers `DB_BROKEN` at once; `broken()` says so, and the functions' store
//!   (`_shared/platform/store.ts`) opens a new one (same data directory) on the next request.
import type { Backend, Param, Queryable } from "../../supabase/functions/_shared/platform/db.ts";
import { toParam } from "../../supabase/functions/_shared/platform/db.ts";
import { log } from "../../supabase/functions/_shared/platform/log.ts";

export interface PgliteOptions {
  /** Deadline of one query or transaction step (ms); default TRIMTAB_DB_QUERY_TIMEOUT_MS or 10000. */
  queryTimeoutMs?: number;
  /** Deadline of a multi-statement exec (migrations, seeds) and of opening (ms); default 60000. */
  execTimeoutMs?: number;
}

/** A database error as the worker reported it (SQLSTATE in `code`), or DB_TIMEOUT / DB_BROKEN. */
export class PgliteError extends Error {
  code?: string;
  constructor(fields: Record<string, unknown>) {
    super(String(fields.message ?? "database error"));
    this.name = String(fields.name ?? "DatabaseError");
    Object.assign(this, fields);
  }
}

function envMs(name: string): number | undefined {
  try {
    const v = Number(Deno.env.get(name));
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

type Pending = { resolve(v: unknown): void; reject(e: unknown): void; timer: ReturnType<typeof setTimeout> };

/** The PGlite driver on `dataDir` (a directory, or "memory://"), in a worker. */
export async function pgliteBackend(dataDir: string, opts: PgliteOptions = {}): Promise<Backend> {
  if (!dataDir.includes("://")) await Deno.mkdir(dataDir, { recursive: true });
  const queryMs = opts.queryTimeoutMs ?? envMs("TRIMTAB_DB_QUERY_TIMEOUT_MS") ?? 10_000;
  const execMs = Math.max(queryMs, opts.execTimeoutMs ?? 60_000);
  const worker = new Worker(new URL("./pglite_worker.ts", import.meta.url), { type: "module" });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let broken: string | null = null;

  const fail = (code: string, message: string) => new PgliteError({ name: "DatabaseError", code, message });
  const kill = (code: string, why: string) => {
    if (broken === null) log.error("embedded database given up; the next request opens it again", { code, why });
    broken ??= why;
    worker.terminate();
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(fail(code, `embedded database ${code === "DB_TIMEOUT" ? "did not answer" : "broken"}: ${why}`));
      pending.delete(id);
    }
  };
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { id: number; ok: boolean; value?: unknown; error?: Record<string, unknown>; broken?: boolean };
    const p = pending.get(m.id);
    if (p) {
      pending.delete(m.id);
      clearTimeout(p.timer);
      m.ok ? p.resolve(m.value) : p.reject(new PgliteError(m.error ?? {}));
    }
    if (m.broken) kill("DB_BROKEN", String(m.error?.message ?? "internal error"));
  };
  worker.onerror = (e) => {
    e.preventDefault();
    kill("DB_BROKEN", `worker error: ${e.message}`);
  };

  const call = <T>(msg: Record<string, unknown>, ms = queryMs): Promise<T> => {
    if (broken !== null) return Promise.reject(fail("DB_BROKEN", `embedded database broken: ${broken}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => kill("DB_TIMEOUT", `${String(msg.op)} took longer than ${ms} ms`),
        ms,
      );
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      worker.postMessage({ ...msg, id });
    });
  };

  const on = (tx?: number): Queryable => ({
    query: <T>(sql: string, params: Param[] = []) => call<T[]>({ op: "query", sql, params: params.map(toParam), tx }),
    exec: async (sql: string) => void await call({ op: "exec", sql, tx }, tx === undefined ? execMs : queryMs),
  });

  try {
    await call({ op: "open", dataDir }, execMs);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return {
    kind: "pglite",
    ...on(),
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const id = await call<number>({ op: "begin" });
      let out: T;
      try {
        out = await fn(on(id));
      } catch (e) {
        await call({ op: "end", tx: id, commit: false }).catch(() => {});
        throw e;
      }
      await call({ op: "end", tx: id, commit: true });
      return out;
    },
    broken: () => broken !== null,
    async close() {
      if (broken === null) {
        await call({ op: "close" }, 5_000).catch(() => {});
        broken = "closed";
      }
      worker.terminate();
    },
  };
}
