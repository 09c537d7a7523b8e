// @ts-self-types="./trimtab.d.ts"
/**
 * trimtab: the one JS entry point to the Wasm core, for Deno (edge functions) and browsers.
 *
 * Importing this module loads and initialises the Wasm once (top-level await); callers import
 * this wrapper, never `pkg/` directly. The boundary is kept cheap: an engine learns the flag
 * keys, variant keys and attribute slots once, each call sends only the context attributes
 * whose values changed, and results come back as packed numbers that are decoded here.
 */
import initWasm, {
  bucket as rawBucket,
  buildAnthropicJson,
  buildOpenAIJson,
  checkRamp as rawCheckRamp,
  checkRedeemFields,
  checkVoidFields,
  CircuitBreaker as RawCircuitBreaker,
  cutoverCheckFields,
  decideRolloutFields,
  DedupWindow as RawDedupWindow,
  Engine,
  estimateTokens as rawEstimateTokens,
  hmacSha256Hex as rawHmacHex,
  initSync,
  normalizePhone as rawNormalizePhone,
  outputSimilarity as rawOutputSimilarity,
  promptCacheKey as rawPromptCacheKey,
  RateLimiter as RawRateLimiter,
  reasonNames,
  redact as rawRedact,
  signStandardWebhook as rawSignStandard,
  truncatePromptJson,
  validateIssueFields,
  validateVoucherCode as rawValidateCode,
  variantPosition as rawVariantPosition,
  verifyMetaSignature as rawVerifyMeta,
  verifyStandardWebhook as rawVerifyStandard,
  voucherCodeFrom,
  whatsappEventFields,
} from "../pkg/trimtab.js";

const WASM_URL = new URL("../pkg/trimtab_bg.wasm", import.meta.url);
const NOT_FOUND_INDEX = 0xffffffff;
const TWO_32 = 4294967296;
const UNSET = Symbol("unset");
const EMPTY = Object.freeze({});
const SCRATCH = 1024; // bytes; must match SCRATCH in src/wasm/mod.rs
const CLEAR = 0xffff;

/** @type {any} */
let wasm = null;
/** @type {string[]} */
let REASONS = [];
/** @type {Promise<void> | null} */
let ready = null;
/** @type {Uint8Array | null} a view of Wasm memory, renewed when memory grows */
let mem8 = null;

function memory8() {
  if (mem8 === null || mem8.byteLength === 0) mem8 = new Uint8Array(wasm.memory.buffer);
  return mem8;
}

/** An error from the core, with a stable `code` (INVALID_SNAPSHOT, RAMP_SKIPS_STAGE, ...). */
export class TrimtabError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "TrimtabError";
    this.code = code;
  }
}

function rethrow(e) {
  if (e && e.name === "TrimtabError" && typeof e.code === "string") throw new TrimtabError(e.code, e.message);
  throw e;
}

function finish(exports) {
  wasm = exports;
  REASONS = reasonNames();
}

/**
 * Loads the Wasm (idempotent). Called automatically on import with the default location;
 * call it yourself only to load the `.wasm` from somewhere else.
 * @param {URL | string | Response | BufferSource | WebAssembly.Module} [source]
 */
export function init(source) {
  if (ready) return ready;
  const local = source === undefined && WASM_URL.protocol === "file:" &&
    typeof Deno !== "undefined" && typeof Deno.readFileSync === "function";
  if (local) {
    let bytes = null;
    try {
      bytes = Deno.readFileSync(WASM_URL);
    } catch {
      // Supabase's edge-runtime may refuse sync file APIs outside module init: read it async.
    }
    ready = bytes
      ? Promise.resolve(finish(initSync({ module: bytes })))
      : Deno.readFile(WASM_URL).then((b) => finish(initSync({ module: b })));
  } else {
    ready = initWasm({ module_or_path: source ?? WASM_URL }).then(finish);
  }
  return ready;
}

await init();

/** Bytes of Wasm linear memory in use by the module (diagnostics and benchmarks). */
export function wasmMemoryBytes() {
  return wasm.memory.buffer.byteLength;
}

/** The rollout bucket (0..=999999) of `unit` under `salt` (bucketing spec v1). */
export function bucket(salt, unit) {
  try {
    return rawBucket(salt, unit);
  } catch (e) {
    rethrow(e);
  }
}

/** The variant position (0..=999999) of `unit` under `salt`, independent of its bucket. */
export function variantPosition(salt, unit) {
  try {
    return rawVariantPosition(salt, unit);
  } catch (e) {
    rethrow(e);
  }
}

/** Throws RAMP_SKIPS_STAGE (naming the skipped stage) when `current -> next` skips a stage. */
export function checkRamp(current, next, stages) {
  try {
    rawCheckRamp(current, next, Float64Array.from(stages ?? []));
  } catch (e) {
    rethrow(e);
  }
}

/** Evaluates flags of one snapshot. Evaluation never throws; construction may. */
export class FlagEngine {
  #raw;
  #keys;
  #index;
  #variants;
  #attrs;
  #last;
  #version;
  #reads;
  #all;
  #scratch;
  #pending = 0;

  /** @param {object | string} snapshot */
  constructor(snapshot) {
    try {
      this.#raw = new Engine(snapshot);
    } catch (e) {
      rethrow(e);
    }
    const keys = this.#raw.flagKeys();
    this.#keys = keys;
    this.#index = new Map(keys.map((k, i) => [k, i]));
    this.#variants = keys.map((_, i) => this.#raw.variantKeys(i));
    this.#attrs = this.#raw.attributes();
    this.#last = this.#attrs.map(() => UNSET);
    this.#all = Array.from(this.#raw.allSlots());
    this.#reads = new Array(keys.length).fill(null);
    this.#version = this.#raw.version;
    this.#scratch = this.#raw.scratchPtr();
  }

  /** The snapshot's version. */
  get version() {
    return this.#version;
  }

  /** Flag keys in snapshot order. */
  get keys() {
    return this.#keys.slice();
  }

  /** Evaluates one flag for `context`. */
  evaluate(flag, context) {
    const i = this.#index.get(flag);
    if (i !== undefined) this.#sync(context, this.#reads[i] ??= Array.from(this.#raw.flagSlots(i)));
    const r = this.#raw.evaluate(i === undefined ? NOT_FOUND_INDEX : i, this.#take());
    return this.#decode(typeof flag === "string" ? flag : String(flag), i, r);
  }

  /** Evaluates every flag for `context`, keyed by flag. */
  evaluateAll(context) {
    this.#sync(context, this.#all);
    const ptr = this.#raw.evaluateAll(this.#take());
    const keys = this.#keys;
    const packed = new Float64Array(wasm.memory.buffer, ptr, keys.length);
    const out = {};
    for (let i = 0; i < keys.length; i++) out[keys[i]] = this.#decode(keys[i], i, packed[i]);
    return out;
  }

  /** Frees the Wasm memory now instead of at garbage collection. */
  free() {
    this.#raw?.free();
    this.#raw = undefined;
  }

  // Sends the attributes (of `slots`) whose values changed since they were last sent.
  // Primitives are compared by value; objects and arrays are always re-sent, since they may
  // have been mutated in place.
  #sync(context, slots) {
    const ctx = context !== null && typeof context === "object" ? context : EMPTY;
    const attrs = this.#attrs, last = this.#last, raw = this.#raw;
    for (let n = 0; n < slots.length; n++) {
      const i = slots[n];
      const v = ctx[attrs[i]];
      if (v === last[i] && (v === undefined || v === null || typeof v !== "object")) continue;
      last[i] = v;
      if (typeof v === "string") this.#sendString(i, v);
      else if (v === undefined || v === null) this.#queue(i, CLEAR);
      else {
        this.#flush(); // keep queued updates ahead of this one
        raw.setValue(i, v instanceof Date ? v.getTime() : v);
      }
    }
  }

  // Pending updates: written into the scratch buffer, applied by the next call into the engine.
  #take() {
    const n = this.#pending;
    this.#pending = 0;
    return n;
  }

  #flush() {
    if (this.#pending !== 0) this.#raw.applyUpdates(this.#take());
  }

  /** Writes an update header; returns where its bytes go, or -1 when it cannot be queued. */
  #queue(slot, len) {
    const size = 4 + (len === CLEAR ? 0 : len);
    if (size > SCRATCH) return -1;
    if (this.#pending + size > SCRATCH) this.#flush();
    const mem = memory8(), p = this.#scratch + this.#pending;
    mem[p] = slot & 255;
    mem[p + 1] = slot >>> 8;
    mem[p + 2] = len & 255;
    mem[p + 3] = len >>> 8;
    this.#pending += size;
    return p + 4;
  }

  // ASCII strings (ids, countries, plans) are queued straight into Wasm memory; others go
  // through wasm-bindgen's UTF-8 encoding at once.
  #sendString(slot, s) {
    const n = s.length;
    const p = n <= SCRATCH - 4 ? this.#queue(slot, n) : -1;
    if (p >= 0) {
      const mem = memory8();
      let k = 0;
      for (; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c > 127) break;
        mem[p + k] = c;
      }
      if (k === n) return;
      this.#pending -= 4 + n; // not ASCII: drop the update just queued (always the last one)
    }
    this.#flush();
    this.#raw.setString(slot, s);
  }

  #decode(flag, i, r) {
    const lo = r >>> 0;
    const hi = (r - lo) / TWO_32;
    const e = { flag, enabled: (lo & 1) === 1, reason: REASONS[(lo >>> 1) & 15], version: this.#version };
    const v = (lo >>> 5) & 0x7ff;
    if (v !== 0) e.variant = this.#variants[i][v - 1];
    if (hi !== 0) e.bucket = hi - 1;
    const rule = lo >>> 16;
    if (rule !== 0) e.ruleIndex = rule - 1;
    return e;
  }
}

// ------------------------------------------------------------------ webhooks

const utf8 = new TextEncoder();
/** @param {Uint8Array | string} v */
const bytesOf = (v) => (typeof v === "string" ? utf8.encode(v) : v);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Checks Meta's `X-Hub-Signature-256` over the raw body (constant time). */
export function verifyMetaSignature(appSecret, rawBody, header) {
  try {
    rawVerifyMeta(bytesOf(appSecret), bytesOf(rawBody), header ?? undefined);
  } catch (e) {
    rethrow(e);
  }
}

/** Checks a Standard Webhooks v1 delivery (5-minute tolerance both ways). */
export function verifyStandardWebhook(secret, headers, rawBody, now = nowSeconds()) {
  const h = headers ?? {};
  try {
    rawVerifyStandard(
      secret,
      h.id ?? undefined,
      h.timestamp ?? undefined,
      h.signature ?? undefined,
      bytesOf(rawBody),
      now,
    );
  } catch (e) {
    rethrow(e);
  }
}

/** Signs like a Standard Webhooks sender: `v1,<base64>`. */
export function signStandardWebhook(secret, id, timestampSeconds, rawBody) {
  try {
    return rawSignStandard(secret, id, timestampSeconds, bytesOf(rawBody));
  } catch (e) {
    rethrow(e);
  }
}

/** HMAC-SHA256, lowercase hex. */
export function hmacSha256Hex(key, message) {
  return rawHmacHex(bytesOf(key), bytesOf(message));
}

/** Every message and status of a WhatsApp delivery, in order. */
export function whatsappEvents(payload) {
  let f;
  try {
    f = whatsappEventFields(payload);
  } catch (e) {
    rethrow(e);
  }
  const out = [];
  for (let i = 0; i < f.length; i += 8) {
    const e = f[i] === "message"
      ? { kind: "message", dedupId: f[i + 1], wamid: f[i + 2], from: f[i + 3], type: f[i + 4] }
      : { kind: "status", dedupId: f[i + 1], wamid: f[i + 2], status: f[i + 3], recipient: f[i + 4] };
    if (f[i + 5]) e.text = f[i + 5];
    if (f[i + 6]) e.timestamp = f[i + 6];
    e.phoneNumberId = f[i + 7];
    out.push(e);
  }
  return out;
}

/** A bounded in-isolate dedup window with a TTL (defaults: 10,000 ids, 10 minutes). */
export class DedupWindow {
  #raw;
  constructor(capacity = 10_000, ttlMs = 600_000) {
    this.#raw = new RawDedupWindow(capacity, ttlMs);
  }
  /** True the first time `id` is seen within the TTL. */
  firstSeen(id, nowMs = Date.now()) {
    return this.#raw.firstSeen(String(id), nowMs);
  }
  /** Forgets `id` (its durable claim failed, so a redelivery must be processed). */
  forget(id) {
    return this.#raw.forget(String(id));
  }
  get size() {
    return this.#raw.size;
  }
  free() {
    this.#raw?.free();
    this.#raw = undefined;
  }
}

// ------------------------------------------------------------------ vouchers

const STATUSES = ["issued", "redeemed", "voided"];

function statusIndex(status) {
  const i = STATUSES.indexOf(status);
  if (i < 0) throw new TrimtabError("INVALID_STATUS", `unknown voucher status ${JSON.stringify(String(status))}`);
  return i;
}

function epochMs(v) {
  if (v === null || v === undefined) return NaN;
  const t = typeof v === "number" ? v : v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isFinite(t) ? t : NaN;
}

/** Validates an issue request against the policy. */
export function validateIssue(policy, request, nowMs = Date.now()) {
  const p = policy ?? {}, r = request ?? {};
  let f;
  try {
    f = validateIssueFields(
      Number(p.maxAmountMinor),
      (p.currencies ?? []).map(String),
      p.defaultTtlDays ?? undefined,
      typeof r.amount === "number" ? r.amount : NaN,
      String(r.currency ?? ""),
      String(r.holderPhone ?? ""),
      r.expiresAt ?? undefined,
      nowMs,
    );
  } catch (e) {
    rethrow(e);
  }
  const out = { amountMinor: Number(f[0]), currency: f[1], holderPhone: f[2] };
  if (f[3]) out.expiresAt = new Date(Number(f[3])).toISOString();
  return out;
}

/** Throws VOUCHER_NOT_ISSUED, VOUCHER_EXPIRED, NOT_OWNER or INVALID_PHONE. */
export function checkRedeem(voucher, callerPhone, nowMs = Date.now()) {
  const i = statusIndex(voucher?.status);
  try {
    checkRedeemFields(
      i,
      String(voucher.holderPhone ?? ""),
      epochMs(voucher.expiresAt),
      String(callerPhone ?? ""),
      nowMs,
    );
  } catch (e) {
    rethrow(e);
  }
}

/** Throws VOUCHER_NOT_ISSUED. */
export function checkVoid(voucher) {
  const i = statusIndex(voucher?.status);
  try {
    checkVoidFields(i);
  } catch (e) {
    rethrow(e);
  }
}

/** The canonical form of a voucher code (`TT-XXXX-XXXX-C`); throws INVALID_CODE. */
export function validateVoucherCode(input) {
  try {
    return rawValidateCode(String(input ?? ""));
  } catch (e) {
    rethrow(e);
  }
}

/** A new voucher code (40 random bits plus a check character). */
export function generateVoucherCode() {
  return voucherCodeFrom(crypto.getRandomValues(new Uint8Array(5)));
}

/** E.164 normalisation; throws INVALID_PHONE. */
export function normalizePhone(input) {
  try {
    return rawNormalizePhone(String(input ?? ""));
  } catch (e) {
    rethrow(e);
  }
}

/** Masks phone numbers (keeping the last two digits), emails and voucher codes. */
export function redact(text) {
  return rawRedact(String(text));
}

/** A token bucket per key (default 10 requests per minute), bounded in memory. */
export class RateLimiter {
  #raw;
  constructor(capacity = 10, refillPerMinute = 10, maxKeys = 10_000) {
    this.#raw = new RawRateLimiter(capacity, refillPerMinute, maxKeys);
  }
  check(key, nowMs = Date.now()) {
    const packed = this.#raw.check(String(key), nowMs);
    const lo = packed % TWO_32;
    return { allowed: (lo & 1) === 1, remaining: Math.floor(lo / 2), retryAfterMs: Math.floor(packed / TWO_32) };
  }
  free() {
    this.#raw?.free();
    this.#raw = undefined;
  }
}

// ------------------------------------------------------------------ prompts

/** An OpenAI chat completions request body for `spec`. */
export function buildOpenAIRequest(spec) {
  try {
    return JSON.parse(buildOpenAIJson(spec));
  } catch (e) {
    rethrow(e);
  }
}

/** An Anthropic messages request body for `spec` (XML sections, ≤ 4 cache breakpoints). */
export function buildAnthropicRequest(spec) {
  try {
    return JSON.parse(buildAnthropicJson(spec));
  } catch (e) {
    rethrow(e);
  }
}

/** A deterministic, conservative token estimate. */
export function estimateTokens(text) {
  return rawEstimateTokens(String(text ?? ""));
}

/** `spec` cut to `budget` tokens: oldest turns dropped first; system and latest user turn kept. */
export function truncatePrompt(spec, budget) {
  try {
    return JSON.parse(truncatePromptJson(spec, budget));
  } catch (e) {
    rethrow(e);
  }
}

/** Lowercase hex SHA-256 of the canonical form of `value`. */
export function promptCacheKey(value) {
  try {
    return rawPromptCacheKey(value);
  } catch (e) {
    rethrow(e);
  }
}

// ------------------------------------------------------------------ safety loop

const BREAKER_STATES = ["closed", "open", "half_open"];

/** A circuit breaker per provider; the clock is passed in (defaults to now). */
export class CircuitBreaker {
  #raw;
  constructor(config = {}) {
    this.#raw = new RawCircuitBreaker(
      config.windowMs ?? 60_000,
      config.minCalls ?? 10,
      config.errorThreshold ?? 0.5,
      config.resetTimeoutMs ?? 30_000,
    );
  }
  allow(nowMs = Date.now()) {
    const p = this.#raw.allow(nowMs);
    return { allowed: (p & 1) === 1, trial: (p & 2) === 2, state: BREAKER_STATES[p >> 2] };
  }
  record(success, nowMs = Date.now()) {
    return BREAKER_STATES[this.#raw.record(Boolean(success), nowMs)];
  }
  state(nowMs = Date.now()) {
    return BREAKER_STATES[this.#raw.state(nowMs)];
  }
  free() {
    this.#raw?.free();
    this.#raw = undefined;
  }
}

const metricsOf = (m) =>
  [m?.calls ?? 0, m?.errors ?? 0, m?.p95Ms ?? 0, m?.fallbacks ?? 0, m?.piiLeaks ?? 0].map(Number);
const NaN_ = Number.NaN;

function reasonsOf(f, from) {
  const out = [];
  for (let i = from; i + 1 < f.length; i += 2) out.push({ code: f[i], message: f[i + 1] });
  return out;
}

/** advance | hold | rollback for a ramping flag, with every reason. */
export function decideRollout(oldMetrics, newMetrics, thresholds = {}, stageEnteredMs = 0, nowMs = Date.now()) {
  const t = thresholds ?? {};
  const th = [
    t.maxErrorRate,
    t.errorMargin,
    t.maxLatencyRatio,
    t.minSuccessRate,
    t.minSample,
    t.dwellMs,
    t.minRollbackSample,
  ]
    .map((v) => (v === undefined || v === null ? NaN_ : Number(v)));
  let f;
  try {
    f = decideRolloutFields(metricsOf(oldMetrics), metricsOf(newMetrics), th, stageEnteredMs, nowMs);
  } catch (e) {
    rethrow(e);
  }
  return { action: f[0], reasons: reasonsOf(f, 1) };
}

/** Similarity 0..1 of two outputs (text, or structured tool calls). */
export function outputSimilarity(oldOutput, newOutput) {
  try {
    return rawOutputSimilarity(oldOutput ?? null, newOutput ?? null);
  } catch (e) {
    rethrow(e);
  }
}

/** The plan's cutover check: similarity ≥ 0.95, latency ≤ 1.1× old, error rate < 1 %. */
export function cutoverCheck(similarity, latencyRatio, errorRate) {
  const f = cutoverCheckFields(Number(similarity), Number(latencyRatio), Number(errorRate));
  return { ok: f[0] === "ok", reasons: reasonsOf(f, 1) };
}
