// The one place edge code imports the Wasm core from. Importing this module loads and initialises
// the Wasm once per isolate (top-level await in the wrapper); functions import from here, never
// from js/ or pkg/ directly, so the location can move (see supabase/NOTES-edge.md: for
// `supabase functions deploy` the wrapper and pkg/ must be shipped as static_files under
// supabase/functions/_shared/, still to be decided).
export * from "../../../js/trimtab.js";
