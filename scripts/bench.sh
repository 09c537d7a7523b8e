#!/usr/bin/env bash
# `npm run bench`: builds the release package and measures it. Prints a table and writes
# .bench/*.json. Benchmarks measure; they never fail on a timing.
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/build.sh
"$DENO" run --allow-read --allow-write=.bench --allow-run --allow-env --v8-flags=--expose-gc --no-check bench/core.js
