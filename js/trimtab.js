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
const SCRATCH = 1024; // bytes; must match SCRATCH in src/wasm.rs
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
    ready = bytes ? Promise.resolve(finish(initSync({ module: bytes })))
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
  #raw; #keys; #index; #variants; #attrs; #last; #version; #reads; #all; #scratch; #pending = 0;

  /** @param {object | string} snapshot */
  constructor(snapshot) {
    try { this.#raw = new Engine(snapshot); } catch (e) { rethrow(e); }
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
  get version() { return this.#version; }

  /** Flag keys in snapshot order. */
  get keys() { return this.#keys.slice(); }

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
  free() { this.#raw?.free(); this.#raw = undefined; }

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
    mem[p] = slot & 255; mem[p + 1] = slot >>> 8; mem[p + 2] = len & 255; mem[p + 3] = len >>> 8;
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
