#!/usr/bin/env bash
# Installs everything the project needs, skipping what is already there.
#   setup.sh            Rust wasm target, wasm-pack, wasm-bindgen-cli (the Cargo.lock version), npm deps
#   setup.sh --system   also Debian packages for tests: chromium, chromium-driver, postgresql, faketime
. "$(dirname "$0")/env.sh"
cd "$ROOT"

if ! command -v cargo >/dev/null; then
  log "cargo not found: this project needs a Rust toolchain (rustup) on the machine"; exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# `npm run lint` needs clippy and rustfmt (in rustup's default profile; added when missing).
for c in clippy rustfmt; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
    log "adding the $c component"
    rustup component add "$c"
  fi
done

if ! command -v wasm-pack >/dev/null; then
  log "installing wasm-pack (takes a few minutes, once)"
  cargo install wasm-pack
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
[ -f Cargo.lock ] || cargo generate-lockfile
want="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$want" != "$have" ]; then
  log "installing wasm-bindgen-cli $want (have: ${have:-none}; takes a few minutes, once)"
  # Not --locked: one of its locked dependencies is missing from the registry mirror.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

stamp="node_modules/.trimtab-installed"
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  log "installing npm dependencies"
  # Not `npm ci`: npm 11 leaves other platforms' optional Deno binaries out of the lock file
  # and then refuses it; `npm install` honours the lock file all the same.
  npm install --no-audit --no-fund
  touch "$stamp"
fi

if [ "${1:-}" = "--system" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  # The Deno suite runs a second time a year ahead (faketime '+400 days'): no test may depend on
  # today's date.
  command -v faketime >/dev/null || missing+=(faketime)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      log "need Debian packages ${missing[*]}: run as root or install them"; exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
