/**
 * The flag API both wrappers export (FlagEngine, bucket, variantPosition, checkRamp, limits), written
 * once over a wasm-bindgen module's glue: js/trimtab.js passes the full build, js/trimtab-flags.js
 * the flag-only build.
 *
 * Evaluation is the boundary's one fast path (everything else crosses through serde): an engine
 * learns the flag keys, variant keys, reason names and attribute slots once; each call sends only
 * the context attributes whose values changed, written into a scratch buffer in Wasm memory, and
 * gets back one packed number per flag (layout in src/wasm/engine.rs), decoded here.
 */

const NOT_FOUND_INDEX = 0xffffffff;
const TWO_32 = 4294967296;
const UNSET = Symbol("unset");
const EMPTY = Object.freeze({});
const SCRATCH = 1024; // bytes; must match SCRATCH in src/wasm/engine.rs
const CLEAR = 0xffff;

/**
 * @param {any} glue  the generated module, initialised before the first call
 * @param {() => any} instance  the initialised module's exports (for its memory)
 */
export function flagApi(glue, instance) {
  /** @type {string[] | null} */
  let reasonNames = null;
  /** @type {Uint8Array | null} a view of Wasm memory, renewed when memory grows */
  let mem8 = null;
  const memory = () => instance().memory;
  const memory8 = () => {
    if (mem8 === null || mem8.byteLength === 0) mem8 = new Uint8Array(memory().buffer);
    return mem8;
  };

  /** Evaluates flags of one snapshot. Evaluation never throws; construction may (INVALID_SNAPSHOT). */
  class FlagEngine {
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
    #reasons;

    /** @param {object | string} snapshot */
    constructor(snapshot) {
      this.#raw = new glue.Engine(snapshot);
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
      this.#reasons = reasonNames ??= glue.reasonNames();
    }

    /** The snapshot's version. */
    get version() {
      return this.#version;
    }

    /** The cost of the snapshot's conditions in steps (budget: `limits().maxSnapshotCost`). */
    get conditionCost() {
      return this.#raw.conditionCost;
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
      const packed = new Float64Array(memory().buffer, ptr, keys.length);
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
      const e = { flag, enabled: (lo & 1) === 1, reason: this.#reasons[(lo >>> 1) & 15], version: this.#version };
      const v = (lo >>> 5) & 0x7ff;
      if (v !== 0) e.variant = this.#variants[i][v - 1];
      if (hi !== 0) e.bucket = hi - 1;
      const rule = lo >>> 16;
      if (rule !== 0) e.ruleIndex = rule - 1;
      return e;
    }
  }

  return {
    FlagEngine,
    /** The rollout bucket (0..=999999) of `unit` under `salt` (bucketing spec v1). */
    bucket: (salt, unit) => glue.bucket(salt, unit),
    /** The variant position (0..=999999) of `unit` under `salt`, independent of its bucket. */
    variantPosition: (salt, unit) => glue.variantPosition(salt, unit),
    /** Throws RAMP_SKIPS_STAGE (with `skipped`) when `current -> next` skips a stage. */
    checkRamp: (current, next, stages) => glue.checkRamp(current, next, Float64Array.from(stages ?? [])),
    /** The core's input limits (JSON depth, condition depth, regex text cap, cost budgets). */
    limits: () => glue.limits(),
    /** Bytes of Wasm linear memory in use by the module (diagnostics and benchmarks). */
    wasmMemoryBytes: () => memory().buffer.byteLength,
  };
}
