#!/usr/bin/env bash
# `npm run bench`: builds the release package and measures it. Prints a table and writes
# .bench/*.json. Benchmarks measure; they never fail on a timing.
#   bench/core.js   the Wasm core in Deno, both builds: size, start-up, evaluation speed, memory;
#                   and evaluateAll without the SIMD batch
#   scripts/dev/bundle.ts  each edge function's deploy bundle (module graph with its deno.json)
#   bench/limits.js the condition cost budgets: the reported heavy snapshot refused, and the most
#                   expensive snapshots the budgets accept (load time, evaluateAll per user)
#   bench/peers.js  trimtab side by side with @openfeature/flagd-core, unleash-client and
#                   @growthbook/growthbook on one 50-flag scenario (speed, ready time, shipped
#                   size); stops if an engine disagrees with the scenario; about 2 minutes
#   bench/edge.ts   the local edge stack (scripts/serve.ts): GET /flags under autocannon load, and
#                   the time from an admin change to three stacks on one Debian Postgres serving it
#                   (needs the postgresql package: scripts/setup.sh --system); about a minute
#   bench/admin.ts  admin writes over HTTP at 200 and 10,000 flags (PGlite, Debian Postgres), and
#                   /health after each hostile request of the attack; about 30 s
#   bench/webhook.ts  ai-whatsapp-webhook on the local stack and a Debian Postgres: signed deliveries
#                   per second with durable dedup (p50/p99), and a replay storm across two stacks
#                   (duplicates let through must be 0: the one check that fails the run); about 35 s
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/build.sh
# The flag build once more without Wasm SIMD (RUSTFLAGS replaces .cargo/config.toml's +simd128),
# so the batch falls back to sha2 for every digest: bench/core.js weighs the SIMD batch with it.
log "building the flag build without SIMD for comparison (target/bench-nosimd)"
RUSTFLAGS="-C target-feature=-simd128" CARGO_TARGET_DIR=target/nosimd wasm-pack --quiet build --target web \
  --release --mode no-install --out-dir target/bench-nosimd --out-name trimtab_flags --no-pack -- --no-default-features
"$DENO" run --allow-read --allow-write=.bench --allow-run --allow-env --v8-flags=--expose-gc --no-check bench/core.js
"$DENO" run --allow-read --allow-write=.bench --no-check bench/limits.js
log "edge function bundles (deno info with each function's deno.json)"
mkdir -p .bench
"$DENO" run --allow-read --allow-write=.bench --allow-run --allow-env --allow-net --no-check scripts/dev/bundle.ts .bench/bundles.json
# unleash-client reads the host name (--allow-sys=hostname); the bench spawns Deno itself.
"$DENO" run --allow-read --allow-write=.bench --allow-run="$DENO" --allow-env --allow-sys=hostname --no-check \
  bench/peers.js
"$DENO" run --allow-read=. --allow-write=.bench,.data --allow-net=127.0.0.1 --allow-env \
  --allow-run=bash,"$DENO" --no-check bench/edge.ts
"$DENO" run --allow-read=. --allow-write=.bench,.data --allow-net=127.0.0.1 --allow-env \
  --allow-run=bash,"$DENO" --no-check bench/webhook.ts
"$DENO" run --allow-read=. --allow-write=.bench,.data --allow-net=127.0.0.1 --allow-env \
  --allow-run=bash,"$DENO" --no-check bench/admin.ts
