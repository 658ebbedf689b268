#!/usr/bin/env bash
# `npm run bench`: installs the load tools if they are missing, then runs the side-by-side benchmark.
# Arguments go to bench/run.mjs, e.g. `npm run bench -- --quick`.
# Subcommands: `rpc` (bench/rpc.mjs), `clients` (bench/clients.mjs), `mount` (bench/mount.mjs), `routes` (bench/routes.mjs), `static`, `proxy`, `sql` and
# `versus` (all three; bench/versus.mjs against nginx, HAProxy and Node peers), `ws` (bench/ws.mjs:
# WebSocket echo against a bare ws server, proxied against direct, RSS of idle sockets), `h2` (bench/h2.mjs:
# HTTP/2 against nginx and node's bare http2 server, with h2load), `all` (every one of them but h2).
set -euo pipefail
cd "$(dirname "$0")/.."

# Measure what users run: the package needs Node 22.12 or newer (`engines`), and ratios move between
# majors (was.lb against raw undici: 1.02 on node 20, 0.95 on node 22, same code). An older system
# node is replaced by the latest node 22 from npm, as .ci/run does for the tests;
# SKITAI_BENCH_ANY_NODE=1 keeps whatever node is on PATH.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ] && [ -z "${SKITAI_BENCH_ANY_NODE:-}" ]; then
  node22=$(dirname "$(npx -y node@22 -p process.execPath)")
  echo "bench: node $(node -v) is older than the package's engines (>= 22.12); running on node $("$node22/node" -v)" >&2
  export PATH="$node22:$PATH"
fi

SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
updated=
install() { # install DEBIAN_PACKAGE...: apt-get update once, then install
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$updated" ] || { $SUDO apt-get update -qq; updated=1; }
  $SUDO apt-get install -y -qq "$@"
}

run=(bench/run.mjs)
versus=
case "${1:-}" in
  rpc) shift; run=(bench/rpc.mjs) ;;
  clients) shift; run=(--import tsx bench/clients.mjs) ;;
  mount) shift; run=(bench/mount.mjs) ;;
  routes) shift; exec node --import tsx bench/routes.mjs "$@" ;;
  startup) shift; exec node bench/startup.mjs "$@" ;;
  ws) shift; exec node bench/ws.mjs "$@" ;;
  h2) shift
    command -v h2load >/dev/null || { echo "bench: installing h2load (Debian package nghttp2-client)" >&2; install nghttp2-client; }
    command -v nginx >/dev/null || { echo "bench: installing nginx (Debian package nginx-light)" >&2; install nginx-light; }
    exec node bench/h2.mjs "$@" ;;
  static|proxy|sql) run=(--import tsx bench/versus.mjs --scenarios "$1"); shift; versus=1 ;;
  versus) shift; run=(--import tsx bench/versus.mjs); versus=1 ;;
  all) shift; versus=1 ;;
esac

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)" >&2
  install wrk
fi
if [ -n "$versus" ]; then
  # The peers Skitai is compared with; Debian's packages, run from a temp config (never as a service).
  command -v nginx >/dev/null || { echo "bench: installing nginx (Debian package nginx-light)" >&2; install nginx-light; }
  command -v haproxy >/dev/null || { echo "bench: installing haproxy (Debian package)" >&2; install haproxy; }
  # The SQL scenario starts a throwaway PostgreSQL the way the tests do (test/support/postgres.ts).
  if [[ " $* ${run[*]} " != *" --scenarios static "* && " ${run[*]} " != *" proxy "* ]] && ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "bench: installing postgresql (Debian package)" >&2; install postgresql
  fi
fi
# taskset (util-linux) pins server and wrk to separate cores; the scripts fall back to no pinning without it.
command -v taskset >/dev/null || echo "bench: taskset not found (util-linux); server and wrk will not be pinned" >&2
# fastify, jayson, xmlrpc and express are devDependencies: install the project's dependencies when they are missing.
[ -d node_modules/fastify ] && [ -d node_modules/jayson ] && [ -d node_modules/xmlrpc ] && [ -d node_modules/express ] || npm ci --no-audit --no-fund

if [ "${run[*]}" = bench/run.mjs ] && [ -n "$versus" ]; then
  # `all`: every benchmark in turn with the same options; each writes its own bench/results/*.md.
  node bench/run.mjs "$@"
  node bench/rpc.mjs "$@"
  node --import tsx bench/clients.mjs "$@"
  node bench/ws.mjs "$@"
  exec node --import tsx bench/versus.mjs "$@"
fi
exec node "${run[@]}" "$@"
