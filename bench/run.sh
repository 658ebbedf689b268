#!/usr/bin/env bash
# `npm run bench`: installs the load tool if it is missing, then runs the side-by-side benchmark.
# Arguments go to bench/run.mjs, e.g. `npm run bench -- --quick`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk
fi
# taskset (util-linux) pins server and wrk to separate cores; run.mjs falls back to no pinning without it.
command -v taskset >/dev/null || echo "bench: taskset not found (util-linux); server and wrk will not be pinned" >&2
# fastify is a devDependency: install the project's dependencies when they are missing.
[ -d node_modules/fastify ] || npm ci --no-audit --no-fund

exec node bench/run.mjs "$@"
