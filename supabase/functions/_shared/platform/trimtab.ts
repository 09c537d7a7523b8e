// The one place edge code imports the Wasm core from. Importing this module loads and initialises
// the Wasm once per isolate (top-level await in the wrapper); functions import from here, never
// from js/, pkg/ or _shared/wasm/ directly.
//
// `_shared/wasm/` is a build output (scripts/build.sh; gitignored): a byte-identical copy of the
// full build's wrapper (js/trimtab.js and the modules it shares with the flag build, claims.js,
// their .d.ts, and openfeature.js: the OpenFeature mapping both providers share) and of pkg/trimtab* (the list is WASM_COPY in scripts/serve.ts), kept in the same
// layout because the wrapper reads ../pkg/trimtab_bg.wasm relative to itself. It lives under supabase/functions/ because
// `supabase functions deploy` bundles nothing outside that directory; the .wasm is declared as a
// static file of every function in supabase/config.toml (the JS is bundled through the imports).
export * from "../wasm/js/trimtab.js";
export { contextFromClaims } from "../wasm/js/claims.js";
export {
  flagTypes,
  openFeatureReason,
  resolution,
  TRACK_LIMITS,
  trackingEvent,
  trimtabContext,
} from "../wasm/js/openfeature.js";
export type {
  FlagType,
  Freshness,
  OpenFeatureErrorCode,
  OpenFeatureReason,
  TrackingEvent,
  TrimtabResolution,
} from "../wasm/js/openfeature.js";
