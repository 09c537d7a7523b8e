/**
 * Loads and initialises a wasm-bindgen module (`--target web` glue) once, then hands it the shared
 * TrimtabError class. Used by both wrappers. In Deno a local `.wasm` is read from disk next to
 * the glue; elsewhere it is fetched (or taken from `source`).
 */
import { TrimtabError } from "./error.js";

/**
 * @param {any} glue  the generated module (`import * as glue from "../pkg/<name>.js"`)
 * @param {URL} wasmUrl  its default `.wasm`
 * @returns {{ init: (source?: any) => Promise<void>, exports: () => any }}
 */
export function wasmLoader(glue, wasmUrl) {
  /** @type {Promise<void> | null} */
  let ready = null;
  /** @type {any} */
  let exports = null;
  const finish = (instance) => {
    exports = instance;
    glue.setErrorClass(TrimtabError);
  };
  function init(source) {
    if (ready) return ready;
    const local = source === undefined && wasmUrl.protocol === "file:" &&
      typeof Deno !== "undefined" && typeof Deno.readFileSync === "function";
    if (local) {
      let bytes = null;
      try {
        bytes = Deno.readFileSync(wasmUrl);
      } catch {
        // Supabase's edge-runtime may refuse sync file APIs outside module init: read it async.
      }
      ready = bytes
        ? Promise.resolve(finish(glue.initSync({ module: bytes })))
        : Deno.readFile(wasmUrl).then((b) => finish(glue.initSync({ module: b })));
    } else {
      ready = glue.default({ module_or_path: source ?? wasmUrl }).then(finish);
    }
    return ready;
  }
  return { init, exports: () => exports };
}
