#!/usr/bin/env bash
# `npm test`: installs what is missing, checks format and lint, builds, and runs every suite:
#   native Rust (unit, integration, property tests), wasm-bindgen-test in Node and headless
#   Chromium (the full build, then the flag-only build), Deno against the built packages (twice:
#   today, and a year ahead under faketime), and Chromium (playwright-core) against them.
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh --system
bash scripts/lint.sh
bash scripts/build.sh
export CHROMEDRIVER

log "native Rust tests"
cargo test --quiet
log "native Rust tests, flag-only build (--no-default-features)"
cargo test --quiet --no-default-features

# Every vector file through the bindings: the full build (default features), then the flag-only
# build the browsers load (--no-default-features: the flag vectors).
for features in "" "--no-default-features"; do
  log "wasm-bindgen-test in Node ${features:-(full build)}"
  wasm-pack test --node --mode no-install -- $features --test wasm

  log "wasm-bindgen-test in headless Chromium ${features:-(full build)}"
  WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome --mode no-install -- $features --test wasm
done

# --allow-sys=hostname: unleash-client (tests/deno/peers_test.ts) reads the host name on import.
deno_suite=("$DENO" test --allow-read --allow-run --allow-env --allow-sys=hostname --allow-net=127.0.0.1,localhost
  --allow-write=tests/artifacts,.data tests/deno/)

log "Deno tests against the built package"
"${deno_suite[@]}"

# The same suite 400 days ahead: libfaketime shifts the clock of Deno and of every process it
# starts (the test Postgres included), so a test or seed that depends on today's date fails here.
log "Deno tests again, with the clock 400 days ahead (faketime)"
faketime '+400 days' "${deno_suite[@]}"

# The npm packages (dist/*.tgz) from the build above: tests/browser/packages.test.mjs installs them
# into an empty folder and uses them from Deno, deno check and a Vite bundle in Chromium.
log "npm packages (scripts/pack.sh)"
bash scripts/pack.sh --no-build

log "browser tests (Chromium via playwright-core) and README examples"
mkdir -p tests/artifacts
node --test --test-concurrency=1 tests/browser/ tests/readme.test.mjs
