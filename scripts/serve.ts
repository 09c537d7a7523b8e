// The local edge stack: one Deno process on 127.0.0.1 that serves every edge function at
// /functions/v1/<name> (Supabase's routing) and the browser files statically.
//
//   npm start                                      # builds, runs the demo, then this (scripts/start.sh)
//   deno run --allow-read --allow-write=.data --allow-env --allow-net=127.0.0.1 scripts/serve.ts
//                                                  # PORT (default 54321); PORT=0 picks a free port
//
// Routes:
//   /functions/v1/<name>[/...]  -> default export of supabase/functions/<name>/index.ts, called with
//                                 the request URL rewritten to /<name>[/...] as on Supabase. First,
//                                 as Supabase's gateway does, functions with verify_jwt = true in
//                                 supabase/config.toml (the default for unlisted ones) refuse a
//                                 request without a legacy (HS256) JWT (401; OPTIONS preflights
//                                 pass); every trimtab function sets it false and verifies itself.
//                                 Functions with enabled = false are not found.
//   /api/...                     -> the `api` function with its path as is (the legacy routes,
//                                 deprecated: /functions/v1/api/... on Supabase)
//   /auth/v1/.well-known/jwks.json -> the local project's public signing keys (scripts/dev/keys.ts)
//   /auth/v1/token, /user, /logout -> a minimal Supabase Auth stand-in for supabase-js: password
//                                 sign-in and refresh for two demo users (scripts/dev/auth.ts)
//   /, /www/...                  -> www/ (index.html for directories); other top-level files of www/;
//                                 every static file with nosniff; /admin/ (the dashboard) also with
//                                 a strict Content-Security-Policy and frame-ancestors 'none'
//   /js/..., /pkg/..., /examples/... -> those directories (application/wasm for .wasm)
//   anything else                -> 404 { "error": { "code": "NOT_FOUND", ... } }
//
// Functions export their handler and call `serve(handler)` from _shared/platform/http.ts, which
// skips Deno.serve because this router imports _shared/platform/routed.ts first. All functions share this one
// isolate (Supabase gives each its own); the first line printed is
// "trimtab edge stack: http://127.0.0.1:<port>" so scripts and tests can find the port. The
// database (the dev database of scripts/dev/db.ts: PGlite under .data/pglite unless SUPABASE_DB_URL
// is set) is opened, migrated and seeded before the stack listens, so the first request does not
// pay for it. The stack plays the Supabase project for auth: its keys (scripts/dev/keys.ts, in the
// data directory) reach the functions as Supabase's environment does; the private signing key is
// never printed; the API keys and a demo admin token are (TRIMTAB_PRINT_TOKEN=0 hides them). The
// rollout guard (_shared/safety/guard.ts, which also delivers the alert outbox) runs every
// TRIMTAB_GUARD_INTERVAL_MS (default 60000; 0 or "off": never) and the retention purges (webhook
// events 7 days, usage rows 90 days, shadow comparisons 30 days, expired cache entries) at start
// and every TRIMTAB_PURGE_INTERVAL_MS (default hourly), and the webhook retries every
// WEBHOOK_RETRY_INTERVAL_MS (default 30 s); on Supabase pg_cron jobs do that (migrations
// 20261127000003_schedule.sql, 20261205000001_safety_alerts.sql, 20261206000003_edge_reliability.sql).
import "../supabase/functions/_shared/platform/routed.ts";
import { corsHeaders } from "../supabase/functions/_shared/platform/cors.ts";
import { error, type Handler } from "../supabase/functions/_shared/platform/http.ts";
import { log } from "../supabase/functions/_shared/platform/log.ts";
import { verifyJwt } from "../supabase/functions/_shared/platform/auth.ts";
import { functionEnv, jwks, LOCAL_ISSUER, localKeys, userToken } from "./dev/keys.ts";
import { authRoute, DEMO_USERS, demoPassword } from "./dev/auth.ts";
import { getDb, setDbFactory } from "../supabase/functions/_shared/platform/store.ts";
import { openDb } from "./dev/db.ts";
import { purgeWebhookEvents } from "../supabase/functions/_shared/agent/dedup.ts";
import { retryWhatsApp } from "../supabase/functions/_shared/agent/agent_webhooks.ts";
import { guardIntervalMs, runGuard } from "../supabase/functions/_shared/safety/guard.ts";
import { purgeSafetyData } from "../supabase/functions/_shared/safety/usage.ts";
import { env, envPositive } from "../supabase/functions/_shared/platform/env.ts";

const ROOT = new URL("..", import.meta.url);
const FUNCTIONS = new URL("supabase/functions/", ROOT);
const STATIC_DIRS = ["www", "js", "pkg", "examples"];
const FN_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const CONFIG_TOML = new URL("supabase/config.toml", ROOT);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

// ---------------------------------------------------------------- supabase/config.toml

export type FunctionSettings = { verifyJwt?: boolean; enabled?: boolean };

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") return line.slice(0, i);
  }
  return line;
}

/**
 * The `[functions.<name>]` tables of a supabase/config.toml and their `verify_jwt` and `enabled`
 * booleans. A tiny reader, not a TOML parser: one `key = value` per line, no multi-line strings
 * (config.toml has neither). Other tables and keys are skipped.
 */
export function parseFunctionSettings(text: string): Map<string, FunctionSettings> {
  const out = new Map<string, FunctionSettings>();
  let current: FunctionSettings | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = stripComment(raw).trim();
    if (line === "") continue;
    if (line.startsWith("[")) {
      current = null;
      const t = /^\[\s*functions\s*\.\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*\]$/.exec(line);
      if (t) {
        const name = t[1] ?? t[2] ?? t[3];
        current = out.get(name) ?? {};
        out.set(name, current);
      }
      continue;
    }
    if (!current) continue;
    const kv = /^(verify_jwt|enabled)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    if (kv[2] !== "true" && kv[2] !== "false") {
      throw new Error(`supabase/config.toml: ${kv[1]} must be true or false: ${raw.trim()}`);
    }
    if (kv[1] === "verify_jwt") current.verifyJwt = kv[2] === "true";
    else current.enabled = kv[2] === "true";
  }
  return out;
}

let settings: Map<string, FunctionSettings> | null = null;

/** The functions' settings from supabase/config.toml (read once; missing file: all defaults). */
export function functionSettings(): Map<string, FunctionSettings> {
  if (!settings) {
    let text = "";
    try {
      text = Deno.readTextFileSync(CONFIG_TOML);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    settings = parseFunctionSettings(text);
  }
  return settings;
}

/** Supabase's default: a function not listed (or without the key) verifies JWTs. */
export function verifiesJwt(name: string): boolean {
  return functionSettings().get(name)?.verifyJwt ?? true;
}

/**
 * The gateway's verify_jwt check: null to let the request through, or the 401. Like Supabase's
 * gateway it understands legacy JWTs only (HS256 with the project's legacy secret,
 * TRIMTAB_LEGACY_JWT_SECRET): tokens from JWT signing keys and API keys are refused here, which is
 * why every trimtab function sets verify_jwt = false and verifies the caller itself.
 */
async function verifyJwtGate(req: Request, name: string): Promise<Response | null> {
  if (req.method === "OPTIONS" || !verifiesJwt(name)) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  let code: string, message: string;
  if (req.headers.get("authorization") === null) [code, message] = ["UNAUTHORIZED", "missing authorization header"];
  else if (!m) [code, message] = ["MALFORMED_TOKEN", "Authorization must be 'Bearer <token>'"];
  else {
    const r = await verifyJwt(m[1], { algorithms: ["HS256"] });
    if (r.ok) return null;
    [code, message] = [r.error.code, r.error.message];
    if (code === "UNSUPPORTED_ALG" || code === "MALFORMED_TOKEN" || code === "LEGACY_JWT_NOT_ACCEPTED") {
      message = `${name} has verify_jwt = true, and the gateway only checks legacy (HS256) JWTs: ` +
        "set verify_jwt = false in supabase/config.toml and verify the caller in the function";
    }
  }
  return error(401, code, message, {
    ...corsHeaders(req),
    "www-authenticate": "Bearer",
    "x-trimtab-verify-jwt": "refused",
  });
}

// ---------------------------------------------------------------- functions

const loaded = new Map<string, Promise<Handler | null>>();

async function isFile(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch {
    return false;
  }
}

function loadFunction(name: string): Promise<Handler | null> {
  let p = loaded.get(name);
  if (!p) {
    const url = new URL(`${name}/index.ts`, FUNCTIONS);
    p = (async () => {
      if (!(await isFile(url))) return null;
      const mod = await import(url.href);
      if (typeof mod.default !== "function") {
        throw new Error(`supabase/functions/${name}/index.ts has no default export handler`);
      }
      return mod.default as Handler;
    })();
    // A missing function may appear later; a failed import is retried on the next request.
    p.then((h) => h === null && loaded.delete(name), () => loaded.delete(name));
    loaded.set(name, p);
  }
  return p;
}

async function routeFunction(req: Request, url: URL, rest: string): Promise<Response> {
  const slash = rest.indexOf("/");
  const name = slash < 0 ? rest : rest.slice(0, slash);
  if (!FN_NAME.test(name)) return error(404, "NOT_FOUND", "no such function");
  if (functionSettings().get(name)?.enabled === false || !(await isFile(new URL(`${name}/index.ts`, FUNCTIONS)))) {
    return error(404, "NOT_FOUND", `no such function: ${name}`);
  }
  const refused = await verifyJwtGate(req, name);
  if (refused) return refused;
  let fn: Handler | null;
  try {
    fn = await loadFunction(name);
  } catch (e) {
    log.error("function failed to load", { fn: name, err: e });
    return error(500, "INTERNAL", "internal error");
  }
  if (!fn) return error(404, "NOT_FOUND", `no such function: ${name}`);
  // On Supabase a function sees its path without /functions/v1.
  const inner = new URL(url);
  inner.pathname = "/" + rest;
  // Not `new Request(inner, req)`: that would tie the function's request to the outer one's
  // abort signal (Deno warns about its legacy abort-on-success behaviour).
  const forwarded = new Request(inner, {
    method: req.method,
    headers: req.headers,
    body: req.method === "GET" || req.method === "HEAD" ? null : req.body,
  });
  try {
    return await fn(forwarded);
  } catch (e) {
    // handle() already catches; this is for functions that do not use it.
    log.error("function threw", { fn: name, err: e });
    return error(500, "INTERNAL", "internal error");
  }
}

// ---------------------------------------------------------------- static files

function extOf(path: string): string {
  const i = path.lastIndexOf(".");
  return i < 0 ? "" : path.slice(i).toLowerCase();
}

/**
 * What the admin dashboard (www/admin/) is served with: a strict Content-Security-Policy (its own
 * modules, styles and images only; Wasm compilation for "who is in?"; API calls to this origin or
 * a Supabase project; no inline script, no plugin, no framing), and the older headers that say the
 * same to browsers without CSP.
 */
export const ADMIN_HEADERS: Record<string, string> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self' https://*.supabase.co",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

async function serveFile(req: Request, dir: string, rel: string): Promise<Response | null> {
  const segments = rel.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === ".." || s.startsWith(".") || s.includes("\0") || s.includes("\\"))) {
    return null;
  }
  let file = new URL(`${dir}/${segments.map(encodeURIComponent).join("/")}`, ROOT);
  try {
    let info = await Deno.stat(file);
    if (info.isDirectory) {
      file = new URL(`${file.href.replace(/\/?$/, "/")}index.html`);
      info = await Deno.stat(file);
    }
    if (!info.isFile) return null;
    const headers: Record<string, string> = {
      "content-type": TYPES[extOf(file.pathname)] ?? "application/octet-stream",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...(dir === "www" && segments[0] === "admin" ? ADMIN_HEADERS : {}),
    };
    if (req.method === "HEAD") {
      return new Response(null, { status: 200, headers: { ...headers, "content-length": String(info.size) } });
    }
    const f = await Deno.open(file, { read: true });
    return new Response(f.readable, { status: 200, headers });
  } catch {
    return null;
  }
}

async function routeStatic(req: Request, path: string): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return error(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed; use GET, HEAD`, { allow: "GET, HEAD" });
  }
  const first = path.split("/")[1] ?? "";
  const res = STATIC_DIRS.includes(first)
    ? await serveFile(req, first, path.slice(first.length + 1))
    : await serveFile(req, "www", path); // "/" and top-level files of www/
  return res ?? error(404, "NOT_FOUND", "not found");
}

// ---------------------------------------------------------------- auth

const JWKS_PATH = "/auth/v1/.well-known/jwks.json";

/** The local project's public key set, read from the data directory at each request (so a key
 *  rotated with scripts/dev/keys.ts is served at once). */
async function serveJwks(req: Request): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return error(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed; use GET, HEAD`, { allow: "GET, HEAD" });
  }
  const body = JSON.stringify(jwks(await localKeys()));
  return new Response(req.method === "HEAD" ? null : body, {
    headers: { "content-type": "application/json", "cache-control": "no-store", "access-control-allow-origin": "*" },
  });
}

// ---------------------------------------------------------------- router

/** The stack's request handler (exported for in-process tests). */
export async function router(req: Request): Promise<Response> {
  const url = new URL(req.url);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return error(400, "BAD_PATH", "malformed path");
  }
  try {
    if (url.pathname === JWKS_PATH) return await serveJwks(req);
    if (url.pathname.startsWith("/auth/v1/")) {
      const issuer = Deno.env.get("TRIMTAB_JWT_ISSUER") ?? LOCAL_ISSUER;
      const res = await authRoute(req, url, await localKeys(), issuer);
      if (res) return res;
    }
    if (url.pathname.startsWith("/functions/v1/")) {
      return await routeFunction(req, url, url.pathname.slice("/functions/v1/".length));
    }
    // The plans' legacy /api/... routes: the `api` function (deprecated answers, see its index.ts).
    if (url.pathname.startsWith("/api/")) return await routeFunction(req, url, url.pathname.slice(1));
    return await routeStatic(req, path);
  } catch (e) {
    log.error("router error", { err: e });
    return error(500, "INTERNAL", "internal error");
  }
}

export type Stack = {
  url: string;
  port: number;
  /** Which database the functions use: "PGlite <dir>" or "postgres://user@host:port/db" (no password). */
  database: string;
  /** Set when the database could not be opened at start (functions retry on each request). */
  databaseError?: string;
  shutdown(): Promise<void>;
};

/** The database the functions will open, described without credentials. */
export function describeDatabase(): string {
  const url = Deno.env.get("SUPABASE_DB_URL");
  if (url) {
    try {
      const u = new URL(url);
      const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
      return `${u.protocol}//${user}${u.host}${u.pathname}`;
    } catch {
      return "postgres (SUPABASE_DB_URL, unparseable)";
    }
  }
  const dir = Deno.env.get("TRIMTAB_PGLITE_DIR") || decodeURIComponent(new URL(".data/pglite", ROOT).pathname);
  return `PGlite ${dir}`;
}

/** What scripts/build.sh copies to supabase/functions/_shared/wasm/: the full build, its wrapper,
 *  and the flag API's type declarations that js/trimtab.d.ts re-exports. */
export const WASM_COPY = [
  "js/trimtab.js",
  "js/trimtab.d.ts",
  "js/claims.js",
  "js/claims.d.ts",
  "js/openfeature.js",
  "js/openfeature.d.ts",
  "js/trimtab-flags.d.ts",
  "js/error.js",
  "js/flag-engine.js",
  "js/load.js",
  "pkg/trimtab.js",
  "pkg/trimtab.d.ts",
  "pkg/trimtab_bg.wasm",
  "pkg/trimtab_bg.wasm.d.ts",
  "pkg/trimtab_flags.d.ts",
];

/**
 * The files of supabase/functions/_shared/wasm/ (written by scripts/build.sh) that are missing or
 * differ from js/ + pkg/. The edge functions load the Wasm from that copy.
 */
export async function staleWasmCopy(): Promise<string[]> {
  const copy = new URL("supabase/functions/_shared/wasm/", ROOT);
  const stale: string[] = [];
  for (const f of WASM_COPY) {
    try {
      const [a, b] = await Promise.all([Deno.readFile(new URL(f, ROOT)), Deno.readFile(new URL(f, copy))]);
      if (a.length !== b.length || !a.every((x, i) => x === b[i])) stale.push(f);
    } catch {
      stale.push(f);
    }
  }
  return stale;
}

/**
 * Starts the stack; resolves once it listens. Reads supabase/config.toml, sets up the local keys
 * and (unless `openDb: false`) opens the database first, so the first request does not pay for it.
 */
export async function startStack(opts: { port?: number; hostname?: string; openDb?: boolean } = {}): Promise<Stack> {
  functionSettings(); // a malformed config.toml fails here, not on the first request
  // The functions' database: PGlite under .data/ (migrated, seeded) or SUPABASE_DB_URL (as is).
  setDbFactory(() => openDb({ connectTimeout: 2 }));
  // What Supabase hands every function: the key set and the API keys of this local project
  // (created in the data directory on first start), and the issuer its tokens carry.
  for (const [k, v] of Object.entries(functionEnv(await localKeys()))) Deno.env.set(k, v);
  if (!Deno.env.get("TRIMTAB_JWT_ISSUER")) Deno.env.set("TRIMTAB_JWT_ISSUER", LOCAL_ISSUER);
  const database = describeDatabase();
  let databaseError: string | undefined;
  if (opts.openDb ?? true) {
    try {
      await getDb();
    } catch (e) {
      // Not fatal: functions retry on their next request (and serve stale snapshots meanwhile).
      databaseError = (e as { code?: string })?.code ?? (e as Error)?.name ?? "error";
      log.warn("database not reachable at start", { database, err: e });
    }
  }
  const hostname = opts.hostname ?? "127.0.0.1";
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname,
    port: opts.port ?? 54321,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, router);
  const addr = await promise;
  // The functions fetch the key set from here when a token names a key they do not know.
  Deno.env.set("SUPABASE_URL", `http://${hostname}:${addr.port}`);
  // Retention (what pg_cron does on Supabase): webhook dedup rows, usage rows, shadow comparisons,
  // expired cache entries; at start, then every TRIMTAB_PURGE_INTERVAL_MS (0 or "off": never).
  const purge = async () => {
    try {
      const db = await getDb();
      const events = await purgeWebhookEvents(db);
      const safety = await purgeSafetyData(db);
      if (events || safety.usage || safety.shadow || safety.cache) log.info("retention purge", { events, ...safety });
    } catch (e) {
      log.warn("retention purge failed", { err: e });
    }
  };
  const purgeEvery = ["0", "off"].includes(env("TRIMTAB_PURGE_INTERVAL_MS") ?? "")
    ? 0
    : envPositive("TRIMTAB_PURGE_INTERVAL_MS");
  let purgeTimer: ReturnType<typeof setInterval> | undefined;
  if ((opts.openDb ?? true) && purgeEvery > 0) {
    purge();
    purgeTimer = setInterval(purge, purgeEvery);
    Deno.unrefTimer(purgeTimer);
  }
  // The rollout guard (what a pg_cron job calling POST /functions/v1/flags-admin/guard through
  // pg_net does on Supabase, see migration 20261127000003_schedule.sql): every TRIMTAB_GUARD_INTERVAL_MS
  // (default 60000; 0 or "off" disables it), unref'd, one run at a time, errors logged.
  const every = guardIntervalMs();
  let guardTimer: ReturnType<typeof setInterval> | undefined;
  if (every > 0 && (opts.openDb ?? true)) {
    let running = false;
    const guard = async () => {
      if (running) return;
      running = true;
      try {
        const r = await runGuard(await getDb());
        const acted = r.decisions.filter((d) => d.applied === "rollback" || d.applied === "advance");
        if (acted.length) log.info("guard run", { acted: acted.map((d) => `${d.flag}:${d.applied}`) });
      } catch (e) {
        log.error("guard run failed", { err: e });
      } finally {
        running = false;
      }
    };
    const timer = setInterval(guard, every);
    Deno.unrefTimer(timer);
    guardTimer = timer;
  }
  // Webhook events to take up again (failed, never claimed, or abandoned by a dead process): what
  // pg_cron does on Supabase through POST /functions/v1/ai-whatsapp-webhook/retry (migration
  // 20261206000003_edge_reliability.sql); every WEBHOOK_RETRY_INTERVAL_MS (0 or "off": never).
  const retryEvery = ["0", "off"].includes(env("WEBHOOK_RETRY_INTERVAL_MS") ?? "")
    ? 0
    : envPositive("WEBHOOK_RETRY_INTERVAL_MS");
  let retryTimer: ReturnType<typeof setInterval> | undefined;
  if (retryEvery > 0 && (opts.openDb ?? true)) {
    let running = false;
    const retry = async () => {
      if (running) return;
      running = true;
      const cid = crypto.randomUUID();
      try {
        await retryWhatsApp({
          correlationId: cid,
          log: log.child({ fn: "webhook-retry", correlationId: cid }),
          elapsed: () => 0,
        });
      } catch (e) {
        log.warn("webhook retry run failed", { err: e });
      } finally {
        running = false;
      }
    };
    retryTimer = setInterval(retry, retryEvery);
    Deno.unrefTimer(retryTimer);
  }
  return {
    url: `http://${hostname}:${addr.port}`,
    port: addr.port,
    database,
    databaseError,
    shutdown: () => {
      for (const t of [guardTimer, purgeTimer, retryTimer]) if (t !== undefined) clearInterval(t);
      return server.shutdown();
    },
  };
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? 54321);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`bad PORT: ${Deno.env.get("PORT")}`);
    Deno.exit(2);
  }
  const stale = await staleWasmCopy();
  if (stale.length) {
    console.error(
      `warning: supabase/functions/_shared/wasm/ is missing or differs from js/ + pkg/ (${stale.join(", ")}); ` +
        "run `npm run build` (scripts/build.sh) so the functions load the current Wasm",
    );
  }
  const stack = await startStack({ port });
  console.log(`trimtab edge stack: ${stack.url}`);
  console.log(`  functions: ${stack.url}/functions/v1/<name>   page: ${stack.url}/`);
  console.log(
    `  database:  ${stack.database}${stack.databaseError ? ` (not reachable at start: ${stack.databaseError})` : ""}`,
  );
  if (Deno.env.get("TRIMTAB_PRINT_TOKEN") !== "0") {
    // The local project's API keys and a demo admin token (ES256, signed with the current signing
    // key). The private key is never printed.
    const keys = await localKeys();
    const token = await userToken(keys, "00000000-0000-4000-8000-00000000ad01", {
      admin: true,
      ttlSeconds: 24 * 3600,
      issuer: Deno.env.get("TRIMTAB_JWT_ISSUER"),
    });
    console.log(`  publishable key (for the browser): ${keys.publishable}`);
    console.log(`  secret key (server side only): ${keys.secret}`);
    console.log(`  demo admin token (24 h): ${token}`);
    console.log(
      `  demo sign-in (Supabase Auth stand-in): ${DEMO_USERS.map((u) => u.email).join(", ")} / ${await demoPassword()}`,
    );
    console.log(`  JWKS: ${stack.url}${JWKS_PATH}`);
  }
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      // Stop accepting requests, then close the database (PGlite flushes to .data/pglite). A
      // request still waiting on the database does not hold the exit up for more than 3 s.
      setTimeout(() => Deno.exit(0), 3000);
      stack.shutdown()
        .then(() => (stack.databaseError ? undefined : getDb().then((db) => db.close())))
        .catch(() => {})
        .finally(() => Deno.exit(0));
    });
  }
}
