#!/usr/bin/env bash
# `npm run pack`: builds (unless --no-build), generates the package folders (scripts/packages.mjs)
# and writes the installable tarballs:
#   dist/trimtab-core-<version>.tgz   @trimtab/core: js/ + both Wasm builds, types
#   dist/trimtab-web-<version>.tgz    @trimtab/web: the flag client and the OpenFeature web provider
. "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ "${1:-}" != "--no-build" ]; then bash scripts/build.sh; fi
mkdir -p dist
node scripts/packages.mjs | while read -r dir; do
  file="$(cd "$dir" && npm pack --silent --pack-destination "$ROOT/dist")"
  log "dist/$file: $(stat -c %s "dist/$file") bytes"
done
