// Shared helpers for the Deno suites: assertions, a throwaway Debian Postgres, tokens, requests.
import { resetAuth } from "../../supabase/functions/_shared/platform/auth.ts";
import { functionEnv, LOCAL_ISSUER, type LocalKeys, localKeys, userToken } from "../../scripts/dev/keys.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { openDb } from "../../scripts/dev/db.ts";
import { useDb } from "../../supabase/functions/_shared/platform/store.ts";

export const ROOT = new URL("../..", import.meta.url);
/** The data directory (signing and API keys) of every stack the tests start, and of testTokens(). */
export const KEYS_DIR = decodeURIComponent(new URL(".data/test-keys", ROOT).pathname);

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

export function eq<T>(actual: T, expected: T, msg = ""): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg} expected ${e}, got ${a}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true or `ms` pass; returns whether it became true. */
export async function eventually(fn: () => Promise<boolean>, ms: number, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= end) return false;
    await sleep(every);
  }
}

export interface Pg {
  url: string;
  stop(): Promise<void>;
  pause?(): Promise<void>;
  resume?(): Promise<void>;
}

/** A throwaway Debian Postgres on a free port (scripts/pg-test-server.sh), or TRIMTAB_TEST_PG_URL. */
export async function startPg(): Promise<Pg> {
  const given = Deno.env.get("TRIMTAB_TEST_PG_URL");
  if (given) return { url: given, stop: async () => {} };
  const script = decodeURIComponent(new URL("scripts/pg-test-server.sh", ROOT).pathname);
  await Deno.mkdir(new URL(".data/", ROOT), { recursive: true });
  const dir = decodeURIComponent(
    new URL(`.data/pg-test-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, ROOT).pathname,
  );
  const run = async (cmd: string) => {
    const out = await new Deno.Command("bash", { args: [script, cmd, dir], stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`pg-test-server ${cmd} failed:\n${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  const url = await run("start");
  return {
    url,
    stop: async () => void await run("stop"),
    pause: async () => void await run("pause"),
    resume: async () => void await run("resume"),
  };
}

export interface Tokens {
  /** The publishable key (sb_publishable_...): anon. */
  anon: string;
  /** The secret key (sb_secret_...): the service role. */
  service: string;
  /** An admin user's access token (ES256). */
  admin: string;
  user(sub: string, opts?: { email?: string; extra?: Record<string, unknown> }): Promise<string>;
  keys: LocalKeys;
}

/** The environment auth reads, as Supabase sets it for a function (KEYS_DIR's keys). */
export async function authEnvFor(keys?: LocalKeys): Promise<Record<string, string | undefined>> {
  return {
    ...functionEnv(keys ?? await localKeys(KEYS_DIR)),
    TRIMTAB_JWT_ISSUER: LOCAL_ISSUER,
    SUPABASE_URL: undefined,
    TRIMTAB_JWKS_URL: undefined,
    TRIMTAB_LEGACY_JWT_SECRET: undefined,
    SUPABASE_ANON_KEY: undefined,
    SUPABASE_SERVICE_ROLE_KEY: undefined,
  };
}

/** Points auth at KEYS_DIR's keys (as Supabase's environment does) and makes credentials. */
export async function testTokens(): Promise<Tokens> {
  const keys = await localKeys(KEYS_DIR);
  for (const [k, v] of Object.entries(await authEnvFor(keys))) {
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
  resetAuth();
  const user = (sub: string, o: { email?: string; extra?: Record<string, unknown>; admin?: boolean } = {}) =>
    userToken(keys, sub, { issuer: LOCAL_ISSUER, email: o.email, extra: o.extra, admin: o.admin });
  return { anon: keys.publishable, service: keys.secret, admin: await user("admin-1", { admin: true }), user, keys };
}

/** A request to a function handler, as the router hands it over. */
export function req(
  path: string,
  opts: { token?: string | null; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Request {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  return new Request(`http://127.0.0.1${path}`, { method: opts.method ?? (body ? "POST" : "GET"), headers, body });
}

/** A parsed JSON answer, read field by field in assertions (the tests check shapes at run time). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Status and parsed JSON body (null when empty). */
export async function call(
  handler: (r: Request) => Promise<Response> | Response,
  r: Request,
): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await handler(r);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** The config version (moves on every change). */
export const configVersion = async (db: Db) =>
  String((await db.query<{ version: unknown }>("select version from trimtab.flag_config_version"))[0].version);

/** Rows in the audit log. */
export const auditCount = async (db: Db) =>
  Number((await db.query<{ n: unknown }>("select count(*) as n from trimtab.flag_audit_log"))[0].n);

/** What must never reach a client: SQL, constraint names, stack frames. */
export const LEAKS = /select|insert|update |delete from|constraint|violates|foreign key|relation|stack|at \w+ \(/i;

type Checks = (t: Deno.TestContext, db: Db, tk: Tokens) => Promise<void>;

/**
 * Registers `checks` twice: on PGlite in memory and on a throwaway Debian Postgres (migrated and
 * seeded with the production seed and, explicitly, the local stack's demo state on top:
 * scripts/dev/demo-seed.sql), with the functions' database handle pointed at it. `postgres` runs extra steps there
 * (e.g. an outage, with `pg.pause`/`pg.resume`); `pglite` extra steps on PGlite.
 */
export function onBothBackends(
  name: string,
  checks: Checks,
  extra: { pglite?: Checks; postgres?: (t: Deno.TestContext, db: Db, tk: Tokens, pg: Pg) => Promise<void> } = {},
): void {
  const run = async (t: Deno.TestContext, db: Db, more: () => Promise<void>) => {
    const tk = await testTokens();
    try {
      useDb(db);
      await checks(t, db, tk);
      await more();
    } finally {
      useDb(null);
      await db.close();
    }
  };
  Deno.test({
    name: `${name}: PGlite (in memory)`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const db = await openDb({ url: "", dataDir: "memory://", seed: "demo" });
      await run(t, db, async () => await extra.pglite?.(t, db, await testTokens()));
    },
  });
  Deno.test({
    name: `${name}: PostgreSQL server (Debian package)`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const pg = await startPg();
      try {
        const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 3, connectTimeout: 1 });
        await run(t, db, async () => await extra.postgres?.(t, db, await testTokens(), pg));
      } finally {
        await pg.stop();
      }
    },
  });
}

type ReqOpts = { token?: string | null; method?: string; body?: unknown; headers?: Record<string, string> };

/** Calls to `/flags-admin<path>`, as the admin unless `token` says otherwise (null: no token). */
export function adminApi(handler: (r: Request) => Promise<Response> | Response, tk: Tokens) {
  return (path: string, o: ReqOpts = {}) =>
    call(handler, req(`/flags-admin${path}`, { token: o.token === undefined ? tk.admin : o.token, ...o }));
}

/** A local edge stack (scripts/serve.ts) running as its own process, i.e. its own isolate. */
export interface Stack {
  url: string;
  proc: Deno.ChildProcess;
}

/** Starts scripts/serve.ts on a free port against the Postgres at `dbUrl`, with KEYS_DIR's keys. */
export async function startStack(dbUrl: string, env: Record<string, string> = {}): Promise<Stack> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--node-modules-dir=manual", "scripts/serve.ts"],
    cwd: decodeURIComponent(ROOT.pathname),
    env: {
      PORT: "0",
      SUPABASE_DB_URL: dbUrl,
      TRIMTAB_DATA_DIR: KEYS_DIR,
      LOG_LEVEL: "warn",
      TRIMTAB_PRINT_TOKEN: "0",
      ...env,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/http:\/\/127\.0\.0\.1:\d+/.test(seen)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stack exited before listening:\n${seen}`);
    seen += value;
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return { url: seen.match(/http:\/\/127\.0\.0\.1:\d+/)![0], proc };
}

/** Stops a stack started by startStack. */
export async function stopStack(s: Stack): Promise<void> {
  try {
    s.proc.kill("SIGTERM");
  } catch { /* already gone */ }
  await s.proc.status;
}

/** Environment changes a suite makes, undone by `restore()` (suites share one process). */
export function envScope() {
  const saved = new Map<string, string | undefined>();
  return {
    set(vars: Record<string, string | undefined>) {
      for (const [k, v] of Object.entries(vars)) {
        if (!saved.has(k)) saved.set(k, Deno.env.get(k));
        v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    },
    restore() {
      for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      saved.clear();
    },
  };
}

/** Log lines captured by a sink: `lines` may be reset by a step; `everything` never is. */
export function logCapture() {
  const lines: string[] = [];
  const everything: string[] = [];
  return {
    lines,
    everything,
    sink: (line: string) => {
      lines.push(line);
      everything.push(line);
    },
  };
}

/** No captured log line holds any of `phones` (digits as WhatsApp sends them). */
export function assertNoPhones(lines: string[], phones: string[]): void {
  const all = lines.join("\n");
  assert(lines.length > 50, "lines were captured");
  for (const p of phones) assert(!all.includes(p), `a log line holds ${p.slice(0, 4)}...`);
}
