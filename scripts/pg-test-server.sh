#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's postgresql package) for tests.
#
#   scripts/pg-test-server.sh start [DIR]   initdb + start on a free 127.0.0.1 port; prints the URL
#                                           (postgres://postgres@127.0.0.1:PORT/postgres) on stdout
#                                           and keeps state in DIR (a new temp dir by default; its
#                                           path is printed on stderr and written to DIR/dir)
#   scripts/pg-test-server.sh stop DIR      stops the cluster and deletes DIR
#   scripts/pg-test-server.sh status DIR    pg_ctl status
#   scripts/pg-test-server.sh pause DIR     stops the server but keeps the cluster (a database outage)
#   scripts/pg-test-server.sh resume DIR    starts it again on the same port
#
# PostgreSQL refuses to run as root: when run as root the cluster belongs to the `postgres` OS user
# (created by the Debian package) and every server command runs through `runuser -u postgres`.
# Trust authentication, listening only on 127.0.0.1 and on a socket inside DIR.
set -euo pipefail

die() { echo "pg-test-server: $*" >&2; exit 1; }

bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
  die "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p tries=0
  while [ $tries -lt 200 ]; do
    p=$(( 20000 + RANDOM % 40000 ))
    if port_free "$p"; then echo "$p"; return; fi
    tries=$((tries + 1))
  done
  die "no free port found"
}

start() {
  local dir="${1:-}" bin port attempt
  bin="$(bindir)"
  if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/trimtab-pg.XXXXXX")"; else mkdir -p "$dir"; fi
  dir="$(cd "$dir" && pwd)"
  if [ "$(id -u)" = 0 ]; then
    getent passwd postgres >/dev/null || die "running as root but there is no postgres OS user"
    chown postgres: "$dir"
  fi
  chmod 700 "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "$(server_opts "$port" "$dir")" \
        start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      echo "postgres://postgres@127.0.0.1:$port/postgres" >"$dir/url"
      echo "$dir" >"$dir/dir"
      echo "pg-test-server: cluster in $dir" >&2
      cat "$dir/url"
      return
    fi
  done
  tail -n 20 "$dir/server.log" >&2 || true
  die "could not start the server"
}

stop() {
  local dir="${1:-}" bin
  [ -n "$dir" ] && [ -d "$dir/data" ] || die "usage: $0 stop DIR (a directory made by start)"
  bin="$(bindir)"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

server_opts() {
  echo "-c listen_addresses=127.0.0.1 -c port=$1 -c unix_socket_directories=$2 -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
}

pause() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -d "$dir/data" ] || die "usage: $0 pause DIR"
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

resume() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -f "$dir/port" ] || die "usage: $0 resume DIR"
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "$(server_opts "$(cat "$dir/port")" "$dir")" start >/dev/null
}

status() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -d "$dir/data" ] || die "usage: $0 status DIR"
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" status
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  status) shift; status "$@" ;;
  pause) shift; pause "$@" ;;
  resume) shift; resume "$@" ;;
  *) die "usage: $0 start [DIR] | stop DIR | status DIR | pause DIR | resume DIR" ;;
esac
