/**
 * The one error class of trimtab, shared by both builds (js/trimtab.js and js/trimtab-flags.js):
 * each wrapper hands it to its Wasm module at init, and the Rust core constructs it for every
 * error it throws, so `instanceof TrimtabError` holds whichever build threw.
 */

const RESERVED = new Set(["name", "message", "code", "stack", "cause"]);

/** An error from the core: a stable `code` and the error's structured fields as properties. */
export class TrimtabError extends Error {
  /**
   * @param {string} code  INVALID_SNAPSHOT, RAMP_SKIPS_STAGE, ...
   * @param {string} message
   * @param {Record<string, unknown>} [fields]  flag, field, skipped, ... (see TrimtabErrorFields)
   */
  constructor(code, message, fields) {
    super(message);
    this.name = "TrimtabError";
    this.code = code;
    if (fields !== null && typeof fields === "object") {
      for (const [k, v] of Object.entries(fields)) if (!RESERVED.has(k)) this[k] = v;
    }
  }
}
