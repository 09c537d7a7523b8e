#!/usr/bin/env bash
# `npm start`: sets up, builds the Wasm package, runs the demo evaluation in Deno, then runs the
# local edge stack (scripts/serve.ts) until interrupted: every edge function at
# http://127.0.0.1:${PORT:-54321}/functions/v1/<name> and the browser page at /, with the
# database in PGlite under .data/pglite (or SUPABASE_DB_URL when set).
. "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/build.sh
"$DENO" run --allow-read --no-check examples/demo.js

# Least privilege: read anywhere (sources, node_modules, Deno's cache), write only the data
# directories, network only to 127.0.0.1 (listening) and the Postgres host when SUPABASE_DB_URL
# is set. npm: imports (PGlite, postgres) resolve from node_modules/ (npm install), not the network.
write=".data"
for d in "${TRIMTAB_DATA_DIR:-}" "${TRIMTAB_PGLITE_DIR:-}"; do
  if [ -n "$d" ]; then write="$write,$d"; fi
done
net="127.0.0.1"
if [ -n "${SUPABASE_DB_URL:-}" ]; then
  # postgres://user:pass@host:port/db?... -> host:port (the port defaults to 5432)
  hostport="${SUPABASE_DB_URL#*://}"
  hostport="${hostport##*@}"
  hostport="${hostport%%[/?]*}"
  case "$hostport" in *:*) ;; *) hostport="$hostport:5432" ;; esac
  net="$net,$hostport"
fi
exec "$DENO" run --allow-read --allow-write="$write" --allow-env --allow-net="$net" \
  --node-modules-dir=manual scripts/serve.ts
