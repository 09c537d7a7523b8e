// @ts-self-types="./trimtab.d.ts"
/**
 * trimtab: the one JS entry point to the Wasm core, for Deno (edge functions) and browsers.
 *
 * Importing this module loads and initialises the Wasm once (top-level await); callers import
 * this wrapper, never `pkg/` directly. The boundary is kept cheap: an engine learns the flag
 * keys, variant keys and attribute slots once, each call sends only the context attributes
 * whose values changed, and results come back as packed numbers that are decoded here.
 */
import initWasm, { initSync, Engine, bucket as rawBucket, variantPosition as rawVariantPosition,
  checkRamp as rawCheckRamp, reasonNames } from "../pkg/trimtab.js";

const WASM_URL = new URL("../pkg/trimtab_bg.wasm", import.meta.url);
const NOT_FOUND_INDEX = 0xffffffff;
const TWO_32 = 4294967296;
const UNSET = Symbol("unset");
const EMPTY = Object.freeze({});

/** @type {any} */
let wasm = null;
/** @type {string[]} */
let REASONS = [];
/** @type {Promise<void> | null} */
let ready = null;

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
    finish(initSync({ module: Deno.readFileSync(WASM_URL) }));
    ready = Promise.resolve();
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
  try { return rawBucket(salt, unit); } catch (e) { rethrow(e); }
}

/** The variant position (0..=999999) of `unit` under `salt`, independent of its bucket. */
export function variantPosition(salt, unit) {
  try { return rawVariantPosition(salt, unit); } catch (e) { rethrow(e); }
}

/** Throws RAMP_SKIPS_STAGE (naming the skipped stage) when `current -> next` skips a stage. */
export function checkRamp(current, next, stages) {
  try { rawCheckRamp(current, next, Float64Array.from(stages ?? [])); } catch (e) { rethrow(e); }
}

/** Evaluates flags of one snapshot. Evaluation never throws; construction may. */
export class FlagEngine {
  #raw; #keys; #index; #variants; #attrs; #last; #version;

  /** @param {object | string} snapshot */
  constructor(snapshot) {
    try { this.#raw = new Engine(snapshot); } catch (e) { rethrow(e); }
    const keys = this.#raw.flagKeys();
    this.#keys = keys;
    this.#index = new Map(keys.map((k, i) => [k, i]));
    this.#variants = keys.map((_, i) => this.#raw.variantKeys(i));
    this.#attrs = this.#raw.attributes();
    this.#last = this.#attrs.map(() => UNSET);
    this.#version = this.#raw.version;
  }

  /** The snapshot's version. */
  get version() { return this.#version; }

  /** Flag keys in snapshot order. */
  get keys() { return this.#keys.slice(); }

  /** Evaluates one flag for `context`. */
  evaluate(flag, context) {
    this.#sync(context);
    const i = this.#index.get(flag);
    return this.#decode(String(flag), i, this.#raw.evaluate(i === undefined ? NOT_FOUND_INDEX : i));
  }

  /** Evaluates every flag for `context`, keyed by flag. */
  evaluateAll(context) {
    this.#sync(context);
    const ptr = this.#raw.evaluateAll();
    const keys = this.#keys;
    const packed = new Float64Array(wasm.memory.buffer, ptr, keys.length);
    const out = {};
    for (let i = 0; i < keys.length; i++) out[keys[i]] = this.#decode(keys[i], i, packed[i]);
    return out;
  }

  /** Frees the Wasm memory now instead of at garbage collection. */
  free() { this.#raw?.free(); this.#raw = undefined; }

  // Sends the attributes whose values changed since the last call. Primitives are compared
  // by value; objects and arrays are always re-sent, since they may have been mutated.
  #sync(context) {
    const ctx = context !== null && typeof context === "object" ? context : EMPTY;
    const attrs = this.#attrs, last = this.#last, raw = this.#raw;
    for (let i = 0; i < attrs.length; i++) {
      const v = ctx[attrs[i]];
      if (v === last[i] && (v === undefined || v === null || typeof v !== "object")) continue;
      last[i] = v;
      if (typeof v === "string") raw.setString(i, v);
      else if (v === undefined || v === null) raw.clearSlot(i);
      else if (v instanceof Date) raw.setValue(i, v.getTime());
      else raw.setValue(i, v);
    }
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
