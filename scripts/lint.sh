#!/usr/bin/env bash
# `npm run lint`: format and lint checks, run first by `npm test`. Fails on any finding:
#   cargo fmt --check; cargo clippy --all-targets -D warnings, natively and for wasm32 (the full
#   build, and the flag-only build with --no-default-features);
#   deno fmt --check and deno lint over the TypeScript and JavaScript (settings in deno.json).
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

log "cargo fmt --check"
cargo fmt --check

log "cargo clippy (native)"
cargo clippy --quiet --all-targets -- -D warnings

log "cargo clippy (wasm32-unknown-unknown)"
cargo clippy --quiet --all-targets --target wasm32-unknown-unknown -- -D warnings

log "cargo clippy (wasm32-unknown-unknown, flag-only build)"
cargo clippy --quiet --all-targets --target wasm32-unknown-unknown --no-default-features -- -D warnings

log "deno fmt --check"
"$DENO" fmt --check --quiet

log "deno lint"
"$DENO" lint --quiet
