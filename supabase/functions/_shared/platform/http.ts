// HTTP helpers shared by every edge function: JSON responses, the error shape
// `{ "error": { "code", "message" } }`, capped JSON bodies, method checks, CORS, correlation ids,
// and `handle(fn)`, which turns anything thrown into a 500 that leaks nothing.
import { corsHeaders } from "./cors.ts";
import { type Logger, logger } from "./log.ts";

export const CORRELATION_HEADER = "x-correlation-id";

/** Default body cap for readJson (bytes). */
export const DEFAULT_MAX_BODY = 64 * 1024;

const JSON_TYPE = "application/json; charset=utf-8";

/** A JSON response. */
export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  if (!h.has("content-type")) h.set("content-type", JSON_TYPE);
  if (!h.has("cache-control")) h.set("cache-control", "no-store");
  // 204/304 carry no body.
  const payload = status === 204 || status === 304 ? null : JSON.stringify(body);
  return new Response(payload, { status, headers: h });
}

/** An error response: `{ "error": { "code", "message" } }`. */
export function error(status: number, code: string, message: string, headers: HeadersInit = {}): Response {
  return json(status, { error: { code, message } }, headers);
}

/** Throw this from a handler for a 4xx (or deliberate 5xx) answer with a stable code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: HeadersInit = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
  toResponse(): Response {
    return error(this.status, this.code, this.message, this.headers);
  }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/**
 * The raw body, at most `maxBytes` bytes (an absent body is empty). Too big, by Content-Length or
 * by what actually arrives: throws HttpError 413 PAYLOAD_TOO_LARGE without reading the rest.
 * Errors while reading are thrown as they are.
 */
export async function readBytes(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooBig = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `request body is larger than ${maxBytes} bytes`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    throw tooBig();
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/**
 * Reads a JSON body of at most `maxBytes` bytes. Too big (by Content-Length or by what actually
 * arrives): 413 PAYLOAD_TOO_LARGE, without reading the rest. Empty or not JSON: 400 BAD_JSON.
 * A content-type other than JSON (or text/plain, what fetch sends for a string body when none is
 * set): 415 UNSUPPORTED_MEDIA_TYPE.
 */
export async function readJson<T = unknown>(req: Request, maxBytes = DEFAULT_MAX_BODY): Promise<Parsed<T>> {
  const badJson = (why: string): Parsed<T> => ({ ok: false, response: error(400, "BAD_JSON", why) });

  const type = req.headers.get("content-type");
  if (type && !/^(application\/([\w.+-]*\+)?json|text\/plain)\b/i.test(type.trim())) {
    return {
      ok: false,
      response: error(415, "UNSUPPORTED_MEDIA_TYPE", "request body must be application/json"),
    };
  }
  const declared = req.headers.get("content-length");
  if (declared !== null && !(Number.isFinite(Number(declared)) && Number(declared) >= 0)) {
    return badJson("bad content-length");
  }
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(req, maxBytes);
  } catch (e) {
    if (e instanceof HttpError) return { ok: false, response: e.toResponse() };
    return badJson("request body could not be read");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return badJson("request body is not valid UTF-8");
  }
  if (text.trim() === "") return badJson("request body is empty");
  try {
    return { ok: true, value: JSON.parse(text) as T };
  } catch {
    return badJson("request body is not valid JSON");
  }
}

/** null when `req.method` is allowed, else a 405 with `Allow` (HEAD is allowed with GET). */
export function allowMethods(req: Request, methods: string[]): Response | null {
  const allowed = new Set(methods.map((m) => m.toUpperCase()));
  if (allowed.has("GET")) allowed.add("HEAD");
  allowed.add("OPTIONS");
  if (allowed.has(req.method.toUpperCase())) return null;
  const allow = [...allowed].join(", ");
  return error(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed; use ${allow}`, { allow });
}

// ---------------------------------------------------------------- handle()

export type Ctx = {
  correlationId: string;
  log: Logger;
  /** Milliseconds since the request arrived. */
  elapsed(): number;
};

export type Handler = (req: Request) => Response | Promise<Response>;
export type CtxHandler = (req: Request, ctx: Ctx) => Response | Promise<Response>;

const CID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's correlation id when well-formed, else a new UUID. */
export function correlationId(req: Request): string {
  const v = req.headers.get(CORRELATION_HEADER);
  return v && CID_RE.test(v) ? v : crypto.randomUUID();
}

function withHeaders(res: Response, extra: Record<string, string>): Response {
  try {
    for (const [k, v] of Object.entries(extra)) if (!res.headers.has(k)) res.headers.set(k, v);
    return res;
  } catch {
    // Immutable headers (e.g. a Response from fetch): copy.
    const h = new Headers(res.headers);
    for (const [k, v] of Object.entries(extra)) if (!h.has(k)) h.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
  }
}

/**
 * Wraps a function handler: answers CORS preflights, gives the handler a correlation id and a
 * logger, converts HttpError to its response and anything else thrown to
 * 500 `{ error: { code: "INTERNAL", message: "internal error" } }` (logged, masked, never sent),
 * and adds CORS and `x-correlation-id` to every response. Writes one access log line.
 */
export function handle(fn: CtxHandler, opts: { name?: string } = {}): Handler {
  const base = logger(opts.name ? { fn: opts.name } : {});
  return async (req: Request): Promise<Response> => {
    const start = performance.now();
    const cid = correlationId(req);
    const log = base.child({ correlationId: cid });
    const ctx: Ctx = { correlationId: cid, log, elapsed: () => performance.now() - start };
    let res: Response;
    if (req.method === "OPTIONS") {
      res = new Response(null, { status: 204 });
    } else {
      try {
        res = await fn(req, ctx);
        if (!(res instanceof Response)) throw new TypeError("handler did not return a Response");
      } catch (e) {
        if (e instanceof HttpError) res = e.toResponse();
        else {
          log.error("unhandled error", { err: e });
          res = error(500, "INTERNAL", "internal error");
        }
      }
    }
    res = withHeaders(res, { ...corsHeaders(req), [CORRELATION_HEADER]: cid });
    const path = (() => {
      try {
        return new URL(req.url).pathname;
      } catch {
        return "?";
      }
    })();
    log.info("request", { method: req.method, path, status: res.status, ms: Math.round(ctx.elapsed() * 10) / 10 });
    return res;
  };
}

// ---------------------------------------------------------------- serving

const ROUTED = Symbol.for("trimtab.routed");

/** Marks this isolate as hosting functions behind a router (scripts/serve.ts, tests). */
export function markRouted(): void {
  (globalThis as Record<symbol, unknown>)[ROUTED] = true;
}

/** True when a router hosts the functions (then they must not call Deno.serve themselves). */
export function isRouted(): boolean {
  return (globalThis as Record<symbol, unknown>)[ROUTED] === true;
}

/**
 * Every function's index.ts ends with `serve(handler)`: on Supabase (and when run directly with
 * `deno run`) this calls Deno.serve(handler); under the local router, which imports
 * `_shared/routed.ts` first, it does nothing and the router calls the default export.
 */
export function serve(handler: Handler): void {
  if (!isRouted()) Deno.serve(handler);
}
