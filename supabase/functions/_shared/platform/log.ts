// Structured logs: one JSON object per line ({ time, level, msg, correlationId?, ...fields }),
// with PII and secrets masked before anything is written.
//
// Masking (strings anywhere in msg or fields, recursively):
//   - JWTs (eyJ...x.y.z) and bearer credentials             -> "[jwt]" / "Bearer [redacted]"
//   - keys: sk-..., sk_live_..., whsec_..., sb_secret_..., sb_publishable_... -> "[key]"
//   - emails, phone numbers, voucher codes: the Wasm core's `redact` -> "[email]", "[phone ..NN]"
//     (last two digits kept), "[voucher]"
//   - postgres URLs with a password (postgres://user:pw@host) -> password replaced by "[redacted]"
// Fields whose NAME is sensitive (authorization, cookie, password, secret, token, apikey,
// phone, email, ...) are replaced by "[redacted]" whatever their value. Headers objects are
// reduced to their non-sensitive entries. Numbers and booleans are logged as they are.
import { env } from "./env.ts";
import { redact } from "./trimtab.ts";

export type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Sink = (line: string, level: Level) => void;

const defaultSink: Sink = (line, level) => {
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
};

let sink: Sink = defaultSink;
let threshold: number = LEVELS[readLevel()];

function readLevel(): Level {
  const v = env("LOG_LEVEL")?.toLowerCase();
  return v && v in LEVELS ? v as Level : "info";
}

/** Replaces where log lines go (tests); returns the previous sink. */
export function setLogSink(next: Sink | null): Sink {
  const prev = sink;
  sink = next ?? defaultSink;
  return prev;
}

/** Sets the minimum level written. */
export function setLogLevel(level: Level): void {
  threshold = LEVELS[level];
}

const SENSITIVE_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|password|passwd|pass|secret|client_secret|token|access_token|refresh_token|id_token|jwt|apikey|api_key|api-key|x-api-key|private_key|service_role_key|phone|phone_number|msisdn|email|e-mail)$|(password|secret|token|apikey|api_key|authorization)/i;

const RULES: Array<[RegExp, string | ((m: string, ...g: string[]) => string)]> = [
  // Bearer / Basic credentials, whatever follows.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, (_m, scheme) => `${scheme} [redacted]`],
  // JWT-looking tokens (header segment starts with eyJ = base64url of '{"').
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?/g, "[jwt]"],
  // Provider keys and webhook secrets.
  [/\b(?:sk|pk|rk)[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{8,}/g, "[key]"],
  [/\bwhsec_[A-Za-z0-9+/=_-]{6,}/g, "[key]"],
  [/\bsb_(?:secret|publishable)_[A-Za-z0-9_-]{6,}/g, "[key]"],
  // Passwords inside connection URLs.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+):[^@\s/]+@/gi, (_m, head) => `${head}:[redacted]@`],
];

/** Masks secrets (above), then PII with the core's `redact` (the same rules everywhere): phone
 *  numbers keep their last two digits (`[phone ..56]`), emails become `[email]`, voucher codes
 *  `[voucher]`. */
export function maskString(s: string): string {
  let out = s;
  for (const [re, rep] of RULES) {
    out = out.replace(re, rep as string);
  }
  return redact(out);
}

/** Deep-masks a value for logging (strings masked, sensitive keys redacted, cycles cut). */
export function mask(value: unknown, seen: WeakSet<object> = new WeakSet(), depth = 0): unknown {
  if (typeof value === "string") return maskString(value);
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "function" || typeof value === "symbol") return undefined;
    return value;
  }
  if (seen.has(value)) return "[cycle]";
  if (depth > 8) return "[deep]";
  seen.add(value);
  if (value instanceof Error) return maskError(value, seen, depth);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Headers) {
    const o: Record<string, string> = {};
    value.forEach((v, k) => {
      if (!SENSITIVE_KEY.test(k)) o[k] = maskString(v);
    });
    return o;
  }
  if (value instanceof URL) return maskString(value.origin + value.pathname);
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => mask(v, seen, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) ? (v === undefined || v === null ? v : "[redacted]") : mask(v, seen, depth + 1);
  }
  return out;
}

function maskError(e: Error, seen: WeakSet<object>, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = { name: e.name, message: maskString(String(e.message)) };
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") o.code = code;
  if (e.stack) o.stack = maskString(e.stack).split("\n").slice(0, 12).join("\n");
  if (e.cause !== undefined) o.cause = mask(e.cause, seen, depth + 1);
  return o;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields` (e.g. { fn: "flags" }). */
  child(fields: Record<string, unknown>): Logger;
}

function write(level: Level, base: Record<string, unknown>, msg: string, fields?: Record<string, unknown>) {
  if (LEVELS[level] < threshold) return;
  const masked = (fields ? mask(fields) : {}) as Record<string, unknown>;
  const line: Record<string, unknown> = {
    time: new Date().toISOString(),
    level,
    msg: maskString(String(msg)),
    ...(mask(base) as Record<string, unknown>),
  };
  for (const [k, v] of Object.entries(masked)) {
    if (!(k in line)) line[k] = v;
    else line[`field.${k}`] = v; // never let fields overwrite time/level/msg
  }
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch {
    text = JSON.stringify({ time: line.time, level, msg: line.msg, note: "unserialisable fields" });
  }
  try {
    sink(text, level);
  } catch { /* logging never throws */ }
}

/** A logger; `correlationId` (and any base fields) go on every line. */
export function logger(base: Record<string, unknown> = {}): Logger {
  return {
    debug: (m, f) => write("debug", base, m, f),
    info: (m, f) => write("info", base, m, f),
    warn: (m, f) => write("warn", base, m, f),
    error: (m, f) => write("error", base, m, f),
    child: (more) => logger({ ...base, ...more }),
  };
}

/** The process-wide logger (no correlation id). */
export const log: Logger = logger();
