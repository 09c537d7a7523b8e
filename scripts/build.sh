#!/usr/bin/env bash
# Builds the Wasm package into pkg/ (wasm-pack --target web: loads in Deno and browsers alike).
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
log "building pkg/ (release, wasm-opt -Oz)"
# --mode no-install: use the wasm-bindgen on PATH; wasm-opt comes from the npm binaryen package.
wasm-pack --quiet build --target web --release --mode no-install --out-dir pkg --no-pack
raw=$(stat -c %s pkg/trimtab_bg.wasm)
gz=$(gzip -9 -c pkg/trimtab_bg.wasm | wc -c)
log "pkg/trimtab_bg.wasm: $raw bytes raw, $gz bytes gzipped"
