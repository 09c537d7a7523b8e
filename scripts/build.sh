#!/usr/bin/env bash
# Builds the two Wasm packages of the crate into pkg/ (wasm-pack --target web: they load in Deno
# and browsers alike), then copies the edge's wrapper and package to
# supabase/functions/_shared/wasm/ for the edge functions.
#   pkg/trimtab.js + trimtab_bg.wasm               the full build (default features: `edge`),
#                                                  loaded by js/trimtab.js in the edge functions
#   pkg/trimtab_flags.js + trimtab_flags_bg.wasm   the flag-only build (--no-default-features),
#                                                  loaded by js/trimtab-flags.js in browsers
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

size() {
  log "pkg/$1: $(stat -c %s "pkg/$1") bytes raw, $(gzip -9 -c "pkg/$1" | wc -c) bytes gzipped"
}

# --mode no-install: use the wasm-bindgen on PATH; wasm-opt comes from the npm binaryen package.
# wasm-pack runs wasm-opt on every .wasm in its output directory, so the flag build of an earlier
# run goes first: it is already optimised and has no target-features section (Cargo.toml's
# wasm-opt flags strip it), without which wasm-opt would reject its reference types.
log "building pkg/trimtab (full build, release, wasm-opt -Oz)"
rm -f pkg/trimtab_flags.js pkg/trimtab_flags.d.ts pkg/trimtab_flags_bg.wasm pkg/trimtab_flags_bg.wasm.d.ts
wasm-pack --quiet build --target web --release --mode no-install --out-dir pkg --no-pack
size trimtab_bg.wasm

# The flag build goes to a directory of its own first, so that nothing wasm-pack does to its
# output directory touches the full build; then its four files join pkg/.
log "building pkg/trimtab_flags (flag-only build, release, wasm-opt -Oz)"
flags_tmp=target/pkg-flags
rm -rf "$flags_tmp"
wasm-pack --quiet build --target web --release --mode no-install --out-dir "$flags_tmp" \
  --out-name trimtab_flags --no-pack -- --no-default-features
cp "$flags_tmp"/trimtab_flags.js "$flags_tmp"/trimtab_flags.d.ts "$flags_tmp"/trimtab_flags_bg.wasm \
  "$flags_tmp"/trimtab_flags_bg.wasm.d.ts pkg/
size trimtab_flags_bg.wasm

# `supabase functions deploy` bundles only what is under supabase/functions/, so the edge code
# imports a copy of the full build's wrapper and package (through _shared/trimtab.ts only). The
# layout is kept, because the wrapper loads ../pkg/trimtab_bg.wasm relative to itself;
# supabase/config.toml lists that .wasm as a static file of each function. The copy is
# gitignored, never edited by hand, and tests/deno/stack_test.ts checks that it is byte-identical
# to js/ + pkg/. Of the flag build only its type declarations are copied (js/trimtab.d.ts
# re-exports the flag API's from js/trimtab-flags.d.ts); its .wasm is for browsers.
dest=supabase/functions/_shared/wasm
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/js" "$tmp/pkg"
cp js/trimtab.js js/trimtab.d.ts js/trimtab-flags.d.ts js/error.js js/flag-engine.js js/load.js \
  js/claims.js js/claims.d.ts js/openfeature.js js/openfeature.d.ts "$tmp/js/"
cp pkg/trimtab.js pkg/trimtab.d.ts pkg/trimtab_bg.wasm pkg/trimtab_bg.wasm.d.ts pkg/trimtab_flags.d.ts "$tmp/pkg/"
rm -rf "$dest"
mv "$tmp" "$dest"
log "copied js/ + pkg/ to $dest/ (for supabase functions deploy)"

# The dashboard's supabase-js (www/admin/session.js loads it for the Supabase Auth sign-in): the
# pinned package's UMD build, served with the page (no CDN). Gitignored, never edited by hand.
mkdir -p www/admin/vendor
cp node_modules/@supabase/supabase-js/dist/umd/supabase.js www/admin/vendor/supabase.js
log "copied supabase-js (UMD) to www/admin/vendor/ for the dashboard"
