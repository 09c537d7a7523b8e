#!/usr/bin/env bash
# `npm start`: sets up, builds the Wasm package, runs the demo evaluation in Deno, then serves
# the browser page (same Wasm) on http://127.0.0.1:${PORT:-8787}/ until interrupted.
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/build.sh
"$DENO" run --allow-read --no-check examples/demo.js
exec node scripts/serve.mjs
