// @ts-self-types="./trimtab.d.ts"
/**
 * trimtab: the full build for Deno (edge functions). Flag evaluation, bucketing and ramps (as in
 * the browsers' flag-only js/trimtab-flags.js), plus webhooks, vouchers, prompts and the safety
 * loop.
 *
 * Importing this module loads and initialises the Wasm once (top-level await); callers import
 * this wrapper, never pkg/ directly. Values cross the boundary through serde (objects in,
 * objects out) and errors arrive as TrimtabError from the core; the only decoding done in JS is
 * evaluation's packed fast path (js/flag-engine.js). What remains here is argument shaping: text
 * arguments as strings and bodies as bytes, because wasm-bindgen does not check the type of a
 * string or byte argument (anything else must never reach its encoder).
 */
import * as glue from "../pkg/trimtab.js";
import { TrimtabError } from "./error.js";
import { flagApi } from "./flag-engine.js";
import { wasmLoader } from "./load.js";

const loader = wasmLoader(glue, new URL("../pkg/trimtab_bg.wasm", import.meta.url));

/** Loads the Wasm (idempotent). Called on import with the default location; call it yourself
 *  only to load the `.wasm` from somewhere else. */
export const init = loader.init;
await init();

export { TrimtabError };
export const { FlagEngine, bucket, variantPosition, checkRamp, limits, wasmMemoryBytes } = flagApi(
  glue,
  loader.exports,
);

// ------------------------------------------------------------------ webhooks

const utf8 = new TextEncoder();
/** `String(v ?? "")`: the text of a text argument. */
const text = (v) => (typeof v === "string" ? v : String(v ?? ""));
/** `undefined` for null or undefined, else the text. */
const optText = (v) => (v === null || v === undefined ? undefined : text(v));
/** Bytes as they are (any typed array or ArrayBuffer), anything else as its UTF-8 text. */
const bytesOf = (v) =>
  v instanceof Uint8Array
    ? v
    : ArrayBuffer.isView(v)
    ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    : v instanceof ArrayBuffer
    ? new Uint8Array(v)
    : utf8.encode(text(v));

/** Checks Meta's `X-Hub-Signature-256` over the raw body (constant time). */
export function verifyMetaSignature(appSecret, rawBody, header) {
  glue.verifyMetaSignature(bytesOf(appSecret), bytesOf(rawBody), optText(header));
}

/** Checks a Standard Webhooks v1 delivery (5-minute tolerance both ways; clock: `now`, seconds). */
export function verifyStandardWebhook(secret, headers, rawBody, now) {
  const h = headers ?? {};
  glue.verifyStandardWebhook(
    text(secret),
    optText(h.id),
    optText(h.timestamp),
    optText(h.signature),
    bytesOf(rawBody),
    now ?? undefined,
  );
}

/** Signs like a Standard Webhooks sender: `v1,<base64>`. */
export function signStandardWebhook(secret, id, timestampSeconds, rawBody) {
  return glue.signStandardWebhook(text(secret), text(id), timestampSeconds, bytesOf(rawBody));
}

/** HMAC-SHA256, lowercase hex. */
export function hmacSha256Hex(key, message) {
  return glue.hmacSha256Hex(bytesOf(key), bytesOf(message));
}

export { DedupWindow, whatsappEvents } from "../pkg/trimtab.js";

// ------------------------------------------------------------------ vouchers

export { checkVoid, generateVoucherCode, RateLimiter, validateIssue } from "../pkg/trimtab.js";

/** Throws VOUCHER_NOT_ISSUED, VOUCHER_EXPIRED, NOT_OWNER, INVALID_PHONE or INVALID_STATUS. */
export function checkRedeem(voucher, callerPhone, nowMs) {
  glue.checkRedeem(voucher, text(callerPhone), nowMs ?? undefined);
}

/** The canonical form of a voucher code (`TT-XXXX-XXXX-C`); throws INVALID_CODE. */
export function validateVoucherCode(input) {
  return glue.validateVoucherCode(text(input));
}

/** E.164 normalisation; throws INVALID_PHONE. */
export function normalizePhone(input) {
  return glue.normalizePhone(text(input));
}

/** Masks phone numbers (keeping the last two digits), emails and voucher codes. */
export function redact(input) {
  return glue.redact(String(input));
}

/** Masks like `redact` and counts what it masked, by kind. */
export function scanPii(input) {
  return glue.scanPii(String(input));
}

// ------------------------------------------------------------------ prompts

export { buildAnthropicRequest, buildOpenAIRequest, promptCacheKey, truncatePrompt } from "../pkg/trimtab.js";

/** A deterministic, conservative token estimate. */
export function estimateTokens(input) {
  return glue.estimateTokens(text(input));
}

// ------------------------------------------------------------------ safety loop

export {
  CircuitBreaker,
  cutoverCheck,
  cutoverGate,
  decideRollout,
  outputSimilarity,
  validateRolloutThresholds,
} from "../pkg/trimtab.js";
