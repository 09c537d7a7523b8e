// HTTP helpers shared by every edge function: JSON responses, the error shape
// `{ "error": { "code", "message" } }`, capped JSON bodies checked before any database sees them
// (nesting at most the core's `maxJsonDepth`, no U+0000 or lone surrogate in any text), method
// checks, CORS, correlation ids, and `handle(fn)`, which turns anything thrown into a coded answer
// that leaks nothing (a database error by its SQLSTATE class, pgerror.ts; else a 500).
import { corsHeaders } from "./cors.ts";
import { type Logger, logger } from "./log.ts";
import { pgAnswer, type PgExpected } from "./pgerror.ts";
import { limits } from "./trimtab.ts";

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

/** A database error as the HttpError to answer with (pgerror.ts), or null when it is not one to map
 *  (rethrow it: a 500 that leaks nothing). An HttpError is returned as it is. */
export function dbHttpError(e: unknown, expected: PgExpected = {}): HttpError | null {
  if (e instanceof HttpError) return e;
  const a = pgAnswer(e, expected);
  return a ? new HttpError(a.status, a.code, a.message, a.headers) : null;
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

/** The deepest JSON nesting any body may have: the core's own limit (`limits().maxJsonDepth`). */
export const MAX_JSON_DEPTH: number = limits().maxJsonDepth;

/**
 * The nesting depth of JSON text (brackets outside strings), counted without parsing, so that no
 * parser ever recurses on hostile input; stops counting past `max`.
 */
export function jsonDepth(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Where `s` holds U+0000 or a lone surrogate (which Postgres text and jsonb cannot store): the
 *  index, or -1. */
export function badTextAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return i;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/** `value` with every U+0000 and lone surrogate in its strings (and keys) replaced by U+FFFD, for
 *  text that must be stored whatever it holds (a webhook event). Plain JSON values only. */
export function withoutBadText<T>(value: T): T {
  const fix = (s: string) => {
    if (badTextAt(s) < 0) return s;
    let out = "";
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) out += s[i] + s[++i];
      else out += c === 0 || (c >= 0xd800 && c <= 0xdfff) ? "\ufffd" : s[i];
    }
    return out;
  };
  return JSON.parse(JSON.stringify(value, (_k, v) => {
    if (typeof v === "string") return fix(v);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [fix(k), x]));
    }
    return v;
  }));
}

/** The path (`$.a[2].b`) of the first string or key in `value` that `badTextAt` refuses, or null.
 *  Iterative: the depth was checked before, but no recursion on input anyway. */
export function badTextIn(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, "$"]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (badTextAt(v) >= 0) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const at = /^[A-Za-z_$][\w$]{0,39}$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k.slice(0, 40))}]`;
        if (badTextAt(k) >= 0) return at;
        stack.push([x, at]);
      }
    }
  }
  return null;
}

/** 400 INVALID_TEXT naming where. */
function invalidText(where: string): Response {
  return error(
    400,
    "INVALID_TEXT",
    `${where} holds U+0000 or a lone surrogate, which cannot be stored`,
  );
}

/**
 * Reads a JSON body of at most `maxBytes` bytes. Too big (by Content-Length or by what actually
 * arrives): 413 PAYLOAD_TOO_LARGE, without reading the rest. Empty or not JSON: 400 BAD_JSON.
 * Nested deeper than MAX_JSON_DEPTH: 400 JSON_TOO_DEEP (before parsing). A string or key holding
 * U+0000 or a lone surrogate: 400 INVALID_TEXT naming its path. A content-type other than JSON (or
 * text/plain, what fetch sends for a string body when none is set): 415 UNSUPPORTED_MEDIA_TYPE.
 * With `optional`, an absent or empty body is `undefined` (a DELETE sends none).
 */
export function readJson<T = unknown>(req: Request, maxBytes?: number): Promise<Parsed<T>>;
export function readJson<T = unknown>(
  req: Request,
  maxBytes: number,
  opts: { optional: true },
): Promise<Parsed<T | undefined>>;
export async function readJson<T = unknown>(
  req: Request,
  maxBytes = DEFAULT_MAX_BODY,
  opts: { optional?: boolean } = {},
): Promise<Parsed<T | undefined>> {
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
  if (text.trim() === "") return opts.optional ? { ok: true, value: undefined } : badJson("request body is empty");
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    return {
      ok: false,
      response: error(400, "JSON_TOO_DEEP", `request body is nested deeper than ${MAX_JSON_DEPTH} levels`),
    };
  }
  let value: T;
  try {
    value = JSON.parse(text) as T;
  } catch {
    return badJson("request body is not valid JSON");
  }
  const bad = badTextIn(value);
  return bad === null ? { ok: true, value } : { ok: false, response: invalidText(bad) };
}

/** 400 INVALID_TEXT when a query parameter (name or value) holds U+0000 or a lone surrogate. */
function badQuery(req: Request): Response | null {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return null;
  }
  if (url.search === "") return null;
  for (const [k, v] of url.searchParams) {
    if (badTextAt(k) >= 0 || badTextAt(v) >= 0) return invalidText(`query parameter ${JSON.stringify(k.slice(0, 40))}`);
  }
  return null;
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
 * Wraps a function handler: answers CORS preflights, refuses a query string holding U+0000 or a
 * lone surrogate (400 INVALID_TEXT), gives the handler a correlation id and a logger, converts
 * HttpError to its response, a database error to its coded answer (pgerror.ts: 400, 403, 409,
 * 503) and anything else thrown to 500 `{ error: { code: "INTERNAL", message: "internal error" } }`
 * (logged, masked, never sent), and adds CORS (`cors: "admin"`: the admin origins only, cors.ts)
 * and `x-correlation-id` to every response. Writes one access log line.
 */
export function handle(fn: CtxHandler, opts: { name?: string; cors?: "public" | "admin" } = {}): Handler {
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
        res = badQuery(req) ?? await fn(req, ctx);
        if (!(res instanceof Response)) throw new TypeError("handler did not return a Response");
      } catch (e) {
        const db = e instanceof HttpError ? null : pgAnswer(e);
        if (e instanceof HttpError) res = e.toResponse();
        else if (db) {
          log.warn("database error answered", {
            status: db.status,
            code: db.code,
            sqlstate: (e as { code?: string }).code,
          });
          res = error(db.status, db.code, db.message, db.headers);
        } else {
          log.error("unhandled error", { err: e });
          res = error(500, "INTERNAL", "internal error");
        }
      }
    }
    res = withHeaders(res, { ...corsHeaders(req, opts.cors), [CORRELATION_HEADER]: cid });
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
