// @ts-self-types="./trimtab.d.ts"
/**
 * trimtab: the full build for Deno (edge functions). Flag evaluation, bucketing and ramps (as in
 * the browsers' flag-only js/trimtab-flags.js), plus webhooks, vouchers, prompts and the safety
 * loop.
 *
 * Importing this module loads and initialises the Wasm once (top-level await); callers import
 * this wrapper, never pkg/ directly. Values cross the boundary through serde (objects in,
 * objects out) and errors arrive as TrimtabError from the core; the only decoding done in JS is
 * evaluation's packed fast path (js/flag-engine.js). What remains here is argument shaping:
 * strings to UTF-8 bytes, and `String(...)` for text arguments.
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
export const { FlagEngine, bucket, variantPosition, checkRamp, wasmMemoryBytes } = flagApi(glue, loader.exports);

// ------------------------------------------------------------------ webhooks

const utf8 = new TextEncoder();
/** @param {Uint8Array | string} v */
const bytesOf = (v) => (typeof v === "string" ? utf8.encode(v) : v);

/** Checks Meta's `X-Hub-Signature-256` over the raw body (constant time). */
export function verifyMetaSignature(appSecret, rawBody, header) {
  glue.verifyMetaSignature(bytesOf(appSecret), bytesOf(rawBody), header ?? undefined);
}

/** Checks a Standard Webhooks v1 delivery (5-minute tolerance both ways; clock: `now`, seconds). */
export function verifyStandardWebhook(secret, headers, rawBody, now) {
  const h = headers ?? {};
  glue.verifyStandardWebhook(
    secret,
    h.id ?? undefined,
    h.timestamp ?? undefined,
    h.signature ?? undefined,
    bytesOf(rawBody),
    now ?? undefined,
  );
}

/** Signs like a Standard Webhooks sender: `v1,<base64>`. */
export function signStandardWebhook(secret, id, timestampSeconds, rawBody) {
  return glue.signStandardWebhook(secret, id, timestampSeconds, bytesOf(rawBody));
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
  glue.checkRedeem(voucher, String(callerPhone ?? ""), nowMs ?? undefined);
}

/** The canonical form of a voucher code (`TT-XXXX-XXXX-C`); throws INVALID_CODE. */
export function validateVoucherCode(input) {
  return glue.validateVoucherCode(String(input ?? ""));
}

/** E.164 normalisation; throws INVALID_PHONE. */
export function normalizePhone(input) {
  return glue.normalizePhone(String(input ?? ""));
}

/** Masks phone numbers (keeping the last two digits), emails and voucher codes. */
export function redact(text) {
  return glue.redact(String(text));
}

// ------------------------------------------------------------------ prompts

export { buildAnthropicRequest, buildOpenAIRequest, promptCacheKey, truncatePrompt } from "../pkg/trimtab.js";

/** A deterministic, conservative token estimate. */
export function estimateTokens(text) {
  return glue.estimateTokens(String(text ?? ""));
}

// ------------------------------------------------------------------ safety loop

export { CircuitBreaker, cutoverCheck, decideRollout, outputSimilarity } from "../pkg/trimtab.js";
