// The local edge stack (scripts/serve.ts) as its own process, reached over real HTTP: its router,
// its verify_jwt emulation, its timers, with start.sh's permissions. On PGlite (a data directory
// of its own, on disk) or on a throwaway Debian Postgres (migrated and seeded, the demo state on
// top, by the test process, which keeps a handle to it).
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { openDb } from "../../scripts/dev/db.ts";
import { type Pg, ROOT, startPg } from "./support.ts";

const root = decodeURIComponent(ROOT.pathname);

/** A running stack: its URL and the credentials its banner printed. */
export interface HttpStack {
  base: string;
  publishable: string;
  secret: string;
  admin: string;
  /** Everything it wrote to stdout and stderr so far. */
  out(): string;
  /** SIGTERM, then waits for the exit (its status). */
  stop(): Promise<Deno.CommandStatus>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/** Starts scripts/serve.ts on a free port with `dataDir` (keys, and PGlite unless `dbUrl`). */
export async function spawnStack(
  opts: { dataDir: string; dbUrl?: string; env?: Record<string, string> },
): Promise<HttpStack> {
  const env: Record<string, string> = {
    LOG_LEVEL: "warn",
    TRIMTAB_GUARD_INTERVAL_MS: "0",
    ...(opts.env ?? {}),
    PORT: "0",
    TRIMTAB_DATA_DIR: opts.dataDir,
    TRIMTAB_PGLITE_DIR: `${opts.dataDir}/pglite`,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  if (opts.dbUrl) env.SUPABASE_DB_URL = opts.dbUrl;
  for (const k of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  // Under faketime the stack must share the shifted clock (tokens, schedules).
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (k === "LD_PRELOAD" || k.startsWith("FAKETIME") || k === "DONT_FAKE_MONOTONIC") env[k] = v;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write=.data",
      "--allow-env",
      "--allow-net=127.0.0.1",
      "--node-modules-dir=manual",
      "scripts/serve.ts",
    ],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (c) => void (out += c) }),
  ).catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let outDone: Promise<void> = Promise.resolve();
  const ended = async () => {
    const status = await child.status;
    await outDone;
    await errDone;
    return status;
  };
  const signal = (s: Deno.Signal) => {
    try {
      child.kill(s);
    } catch { /* gone */ }
  };
  try {
    const deadline = Date.now() + 120_000;
    while (!/demo admin token[^\n]*\n/.test(out)) {
      if (Date.now() > deadline) throw new Error(`stack did not start:\n${out}`);
      const { done, value } = await reader.read();
      if (done) throw new Error(`stack exited:\n${out}`);
      out += value;
    }
  } catch (e) {
    signal("SIGKILL");
    await ended();
    throw e;
  }
  outDone = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out += value;
    }
  })().catch(() => {});
  const pick = (re: RegExp) => re.exec(out)?.[1];
  const base = pick(/^trimtab edge stack: (http:\/\/127\.0\.0\.1:\d+)$/m);
  const publishable = pick(/publishable key[^:]*: (\S+)/);
  const secret = pick(/secret key[^:]*: (\S+)/);
  const admin = pick(/demo admin token[^:]*: (\S+)/);
  if (!base || !publishable || !secret || !admin) {
    signal("SIGKILL");
    await ended();
    throw new Error(`unexpected banner:\n${out}`);
  }
  return {
    base,
    publishable,
    secret,
    admin,
    out: () => out,
    stop: () => (signal("SIGTERM"), ended()),
    kill: async () => {
      signal("SIGKILL");
      await ended();
    },
  };
}

/** A database for stacks to share: PGlite (a directory only one process may open at a time) or a
 *  Debian Postgres the test process also holds a handle to. */
export interface StackDb {
  kind: "pglite" | "postgres";
  dataDir: string;
  dbUrl?: string;
  pg?: Pg;
  /** The test process's handle (Postgres only; PGlite belongs to the stack while it runs). */
  db?: Db;
  /** Runs `fn` on the database while no stack has it open (PGlite: opens the directory). */
  offline<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  start(env?: Record<string, string>): Promise<HttpStack>;
  close(): Promise<void>;
}

/** A migrated database seeded with the demo state, for `kind`. */
export async function stackDb(kind: "pglite" | "postgres"): Promise<StackDb> {
  const dataDir = `.data/http-${kind}-${crypto.randomUUID().slice(0, 8)}`;
  const abs = `${root}${dataDir}`;
  if (kind === "pglite") {
    const offline = async <T>(fn: (db: Db) => Promise<T>) => {
      const db = await openDb({ url: "", dataDir: `${abs}/pglite`, seed: "demo" });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };
    await offline(async () => {}); // migrate and seed once
    return {
      kind,
      dataDir,
      offline,
      start: (env) => spawnStack({ dataDir, env }),
      close: () => Deno.remove(abs, { recursive: true }).catch(() => {}),
    };
  }
  const pg = await startPg();
  const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 3, connectTimeout: 2 });
  return {
    kind,
    dataDir,
    dbUrl: pg.url,
    pg,
    db,
    offline: (fn) => fn(db),
    start: (env) => spawnStack({ dataDir, dbUrl: pg.url, env }),
    close: async () => {
      await db.close().catch(() => {});
      await pg.stop();
      await Deno.remove(abs, { recursive: true }).catch(() => {});
    },
  };
}

/** Registers `fn` twice, on a PGlite stack and on a Debian Postgres stack. */
export function onBothStacks(
  name: string,
  fn: (t: Deno.TestContext, sdb: StackDb) => Promise<void>,
): void {
  for (const kind of ["pglite", "postgres"] as const) {
    Deno.test({
      name: `${name}: ${kind === "pglite" ? "PGlite" : "PostgreSQL server (Debian package)"}`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn(t) {
        const sdb = await stackDb(kind);
        try {
          await fn(t, sdb);
        } finally {
          await sdb.close();
        }
      },
    });
  }
}

/** fetch() with a deadline: a hung server fails the test instead of hanging it. */
export async function fetchWithin(url: string, init: RequestInit = {}, ms = 10_000): Promise<Response> {
  return await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
}
