#!/usr/bin/env bash
# `npm run bench`: installs the load tool if it is missing, then runs the side-by-side benchmark.
# Arguments go to bench/run.mjs, e.g. `npm run bench -- --quick`.
# Subcommands: `npm run bench -- rpc [...]` runs bench/rpc.mjs, `npm run bench -- clients [...]` bench/clients.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."

run=(bench/run.mjs)
case "${1:-}" in
  rpc) shift; run=(bench/rpc.mjs) ;;
  clients) shift; run=(--import tsx bench/clients.mjs) ;;
  startup) shift; exec node bench/startup.mjs "$@" ;;
esac

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk
fi
# taskset (util-linux) pins server and wrk to separate cores; run.mjs falls back to no pinning without it.
command -v taskset >/dev/null || echo "bench: taskset not found (util-linux); server and wrk will not be pinned" >&2
# fastify, jayson and xmlrpc are devDependencies: install the project's dependencies when they are missing.
[ -d node_modules/fastify ] && [ -d node_modules/jayson ] && [ -d node_modules/xmlrpc ] || npm ci --no-audit --no-fund

exec node "${run[@]}" "$@"
