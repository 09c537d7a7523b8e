// The local edge stack: one Deno process on 127.0.0.1 that serves every edge function at
// /functions/v1/<name> (Supabase's routing) and the browser files statically.
//
//   deno run --allow-all scripts/serve.ts          # PORT (default 54321); PORT=0 picks a free port
//
// Routes:
//   /functions/v1/<name>[/...]  -> default export of supabase/functions/<name>/index.ts, called with
//                                 the request URL rewritten to /<name>[/...] as on Supabase
//   /, /www/...                  -> www/ (index.html for directories); other top-level files of www/
//   /js/..., /pkg/..., /examples/... -> those directories (application/wasm for .wasm)
//   anything else                -> 404 { "error": { "code": "NOT_FOUND", ... } }
//
// Functions export their handler and call `serve(handler)` from _shared/http.ts, which skips
// Deno.serve because this router imports _shared/routed.ts first. All functions share this one
// isolate (Supabase gives each its own); the first line printed is
// "trimtab edge stack: http://127.0.0.1:<port>" so scripts and tests can find the port.
import "../supabase/functions/_shared/routed.ts";
import { error, type Handler } from "../supabase/functions/_shared/http.ts";
import { log } from "../supabase/functions/_shared/log.ts";
import { authEnv, makeUserToken } from "../supabase/functions/_shared/auth.ts";

const ROOT = new URL("..", import.meta.url);
const FUNCTIONS = new URL("supabase/functions/", ROOT);
const STATIC_DIRS = ["www", "js", "pkg", "examples"];
const FN_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

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

// ---------------------------------------------------------------- functions

const loaded = new Map<string, Promise<Handler | null>>();

function loadFunction(name: string): Promise<Handler | null> {
  let p = loaded.get(name);
  if (!p) {
    const url = new URL(`${name}/index.ts`, FUNCTIONS);
    p = (async () => {
      try {
        if (!(await Deno.stat(url)).isFile) return null;
      } catch {
        return null;
      }
      const mod = await import(url.href);
      if (typeof mod.default !== "function") throw new Error(`supabase/functions/${name}/index.ts has no default export handler`);
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
    const headers = { "content-type": TYPES[extOf(file.pathname)] ?? "application/octet-stream", "cache-control": "no-store" };
    if (req.method === "HEAD") return new Response(null, { status: 200, headers: { ...headers, "content-length": String(info.size) } });
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
    if (url.pathname.startsWith("/functions/v1/")) {
      return await routeFunction(req, url, url.pathname.slice("/functions/v1/".length));
    }
    return await routeStatic(req, path);
  } catch (e) {
    log.error("router error", { err: e });
    return error(500, "INTERNAL", "internal error");
  }
}

export type Stack = { url: string; port: number; shutdown(): Promise<void> };

/** Starts the stack; resolves once it listens. */
export async function startStack(opts: { port?: number; hostname?: string } = {}): Promise<Stack> {
  await authEnv(); // resolve (and, for the embedded default, create) the JWT secret up front
  const hostname = opts.hostname ?? "127.0.0.1";
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname,
    port: opts.port ?? 54321,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, router);
  const addr = await promise;
  return { url: `http://${hostname}:${addr.port}`, port: addr.port, shutdown: () => server.shutdown() };
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? 54321);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`bad PORT: ${Deno.env.get("PORT")}`);
    Deno.exit(2);
  }
  const stack = await startStack({ port });
  console.log(`trimtab edge stack: ${stack.url}`);
  console.log(`  functions: ${stack.url}/functions/v1/<name>   page: ${stack.url}/`);
  const env = await authEnv();
  if (env.jwtSecret && Deno.env.get("TRIMTAB_PRINT_TOKEN") !== "0") {
    // A demo admin token for the local stack (1 day). The secret itself is never printed.
    const token = await makeUserToken(env.jwtSecret, "00000000-0000-4000-8000-00000000ad01", {
      admin: true,
      ttlSeconds: 24 * 3600,
    });
    console.log(`  demo admin token (24 h): ${token}`);
  }
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      stack.shutdown().finally(() => Deno.exit(0));
    });
  }
}
