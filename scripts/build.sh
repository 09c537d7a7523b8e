#!/usr/bin/env bash
# Builds the Wasm package into pkg/ (wasm-pack --target web: loads in Deno and browsers alike),
# then copies the wrapper and the package to supabase/functions/_shared/wasm/ for the edge functions.
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
log "building pkg/ (release, wasm-opt -Oz)"
# --mode no-install: use the wasm-bindgen on PATH; wasm-opt comes from the npm binaryen package.
wasm-pack --quiet build --target web --release --mode no-install --out-dir pkg --no-pack
raw=$(stat -c %s pkg/trimtab_bg.wasm)
gz=$(gzip -9 -c pkg/trimtab_bg.wasm | wc -c)
log "pkg/trimtab_bg.wasm: $raw bytes raw, $gz bytes gzipped"

# `supabase functions deploy` bundles only what is under supabase/functions/, so the edge code
# imports a copy of js/ + pkg/ (through _shared/trimtab.ts only). The layout is kept, because the
# wrapper loads ../pkg/trimtab_bg.wasm relative to itself; supabase/config.toml lists that .wasm
# as a static file of each function. The copy is gitignored, never edited by hand, and
# tests/deno/stack_test.ts checks that it is byte-identical to js/ + pkg/.
dest=supabase/functions/_shared/wasm
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/js" "$tmp/pkg"
cp js/trimtab.js js/trimtab.d.ts js/claims.js js/claims.d.ts "$tmp/js/"
cp pkg/trimtab.js pkg/trimtab.d.ts pkg/trimtab_bg.wasm pkg/trimtab_bg.wasm.d.ts "$tmp/pkg/"
rm -rf "$dest"
mv "$tmp" "$dest"
log "copied js/ + pkg/ to $dest/ (for supabase functions deploy)"
