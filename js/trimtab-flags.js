// @ts-self-types="./trimtab-flags.d.ts"
/**
 * trimtab for browsers: the flag-only build (bucketing, evaluation, ramps) in
 * pkg/trimtab_flags_bg.wasm, a fraction of the full module's size. Same FlagEngine, bucketing
 * and TrimtabError as js/trimtab.js (the edge functions' full build), from the same crate.
 *
 * Importing this module loads and initialises the Wasm once (top-level await); import this
 * wrapper, never pkg/ directly.
 */
import * as glue from "../pkg/trimtab_flags.js";
import { TrimtabError } from "./error.js";
import { flagApi } from "./flag-engine.js";
import { wasmLoader } from "./load.js";

const loader = wasmLoader(glue, new URL("../pkg/trimtab_flags_bg.wasm", import.meta.url));

/** Loads the Wasm (idempotent). Called on import with the default location; call it yourself
 *  only to load the `.wasm` from somewhere else. */
export const init = loader.init;
await init();

export { TrimtabError };
export const { FlagEngine, bucket, variantPosition, checkRamp, limits, wasmMemoryBytes } = flagApi(
  glue,
  loader.exports,
);
