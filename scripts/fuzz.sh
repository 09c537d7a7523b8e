#!/usr/bin/env bash
# `npm run fuzz`: the fuzz targets that `npm test` runs briefly, for longer. TRIMTAB_FUZZ_CASES
# (default 20000) is the number of cases per target; PROPTEST_RNG_SEED and TRIMTAB_FUZZ_SEED
# replay a run (a failure prints its minimal input, or its seed).
#   tests/fuzz.rs          the snapshot loader (arbitrary values, mutated valid snapshots) and the
#                          condition compiler and matcher
#   tests/fuzz_webhook.rs  the WhatsApp payload walker, Standard Webhooks and Meta headers
#   tests/limits.rs        three-valued evaluation against the regex limits
#   tests/deno/regex_diff_test.ts  the $regex engine (through the Wasm build) against V8's RegExp
#   tests/deno/edge_fuzz_test.ts   the admin API and the WhatsApp webhook with random and mutated
#                                  JSON, on PGlite and a Debian Postgres: never a 5xx
# The Rust targets build with the `fuzz` profile: optimised, with overflow checks and debug
# assertions on, so an arithmetic overflow fails the run as it would in a debug build.
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
export TRIMTAB_FUZZ_CASES="${TRIMTAB_FUZZ_CASES:-20000}"

log "Rust fuzz targets, $TRIMTAB_FUZZ_CASES cases each (profile fuzz)"
cargo test --quiet --profile fuzz --test fuzz --test fuzz_webhook --test limits

bash scripts/build.sh
log "the \$regex engine against V8's RegExp, $TRIMTAB_FUZZ_CASES patterns"
"$DENO" test --quiet --allow-read --allow-env tests/deno/regex_diff_test.ts
log "the admin API and the WhatsApp webhook, $TRIMTAB_FUZZ_CASES random bodies each, PGlite and Postgres"
"$DENO" test --quiet --allow-read --allow-run --allow-env --allow-net=127.0.0.1,localhost \
  --allow-write=tests/artifacts,.data tests/deno/edge_fuzz_test.ts
