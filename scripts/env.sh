# Shared environment for the project's scripts: sourced, not run.
# Puts cargo, the npm binaries and the real Deno binary on PATH and exports DENO.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The npm "deno" package's launcher is a node script; call the binary itself when present.
if [ -x "$ROOT/node_modules/@deno/linux-x64-glibc/deno" ]; then
  DENO="$ROOT/node_modules/@deno/linux-x64-glibc/deno"
else
  DENO="$ROOT/node_modules/.bin/deno"
fi
export DENO
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
log() { printf '\033[1m[trimtab]\033[0m %s\n' "$*" >&2; }
