#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (which builds dist/), install the tarball into a fresh
# project outside the checkout, and there
#   1. check the tarball holds only dist/, bin/skitaid.js, README.md, LICENSE and package.json;
#   2. import it (and skitai/testing) from a plain .mjs and require() it from a .cjs;
#   3. type-check a TypeScript app under strict user settings (default lib with DOM, skipLibCheck,
#      no @types/* of Skitai's dependencies);
#   4. run `npx skitaid` with a JS site (two workers) and fetch a route, while a module hook
#      records every module the processes resolve: tsx and esbuild must not be among them;
#   5. run a TS site without tsx installed (a clear SKT_APP_LOAD naming tsx), then with it.
# Usage: scripts/pack-smoke.sh [--keep]   (--keep leaves the temp project for a look)
# Needs the npm registry (the temp project installs Skitai's dependencies, typescript, @types/node
# and tsx at the versions this checkout uses) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep=${1:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/skitai-pack-XXXXXX")
# Servers run in process groups of their own: npx does not pass signals on to the site it runs,
# so a site is stopped by signalling its own process (the primary), as a user would, and then
# waited for until its whole group is gone (the group is killed if it hangs).
pids=()
stop_group() {
  [ -z "${2:-}" ] || kill -TERM "$2" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    [ -n "${2:-}" ] && kill -0 "$2" 2>/dev/null || kill -TERM -- "-$1" 2>/dev/null || true
    sleep 0.1 # no event to wait on for another process group from a shell
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}
cleanup() {
  for pid in "${pids[@]}"; do stop_group "$pid"; done
  if [ "$keep" = --keep ]; then echo "pack-smoke: left $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "pack-smoke: FAIL: $*" >&2; exit 1; }
step() { echo "pack-smoke: $*"; }
version() { node -p "require('$root/node_modules/$1/package.json').version"; }

step "npm pack (prepack builds dist/)"
npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/skitai-*.tgz)
listing=$(tar tzf "$tarball" | sed 's|^package/||')
extra=$(grep -vE '^(dist/.*|bin/skitaid\.js|README\.md|LICENSE|package\.json)$' <<< "$listing" || true)
[ -z "$extra" ] || fail "unexpected files in the tarball: $extra"
grep -qx 'dist/index.d.ts' <<< "$listing" || fail "no dist/index.d.ts in the tarball"

proj=$work/app
mkdir -p "$proj"
cd "$proj"
printf '{ "name": "smoke-app", "private": true, "type": "module" }\n' > package.json
step "npm install the tarball, typescript and @types/node into $proj"
npm install --silent --no-audit --no-fund "$tarball" "typescript@$(version typescript)" "@types/node@22" >/dev/null
[ ! -e node_modules/tsx ] || fail "tsx was installed with skitai (it must be an optional peer)"
ls node_modules/@types | grep -vx node && fail "@types packages other than @types/node were installed"

step "import from .mjs, require from .cjs"
cat > import.mjs <<'EOF'
import { App, SkitaiError, Status } from 'skitai';
const app = new App();
app.route('/x', () => 'x');
if (typeof app.match !== 'function' || typeof SkitaiError !== 'function' || Status === undefined) process.exit(1);
const { testClient } = await import('skitai/testing');
const client = await testClient(app);
const res = await client.get('/x');
await client.close();
if (res.status !== 200 || res.text !== 'x') process.exit(1);
console.log('import ok (skitai and skitai/testing)');
EOF
node import.mjs
cat > require.cjs <<'EOF'
const { App } = require('skitai');
if (typeof new App().match !== 'function') process.exit(1);
console.log('require ok');
EOF
node require.cjs

step "tsc on a TypeScript app (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, DOM lib)"
cat > tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "nodenext",
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "noUncheckedIndexedAccess": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["*.ts"]
}
EOF
cat > webapp.ts <<'EOF'
import { App, abort, Status, SkitaiError, type Was, type TemplateEnvironment } from 'skitai';

export const app = new App().useSession();
app.setupTemplates((env: TemplateEnvironment) => env.addFilter('shout', (s: string) => s.toUpperCase()));
app.route('/hello', () => 'Hello from TypeScript');
app.route('/item/<int:id>', (was: Was, { id }) => ({ id, path: was.request.path }));
app.route('/visits', (was) => {
  const n = Number(was.session.get('visits') ?? 0) + 1;
  was.session.set('visits', n);
  return { n };
});
app.route('/teapot', () => abort(418));
app.route('/status', () => ({ ok: Status.NORMAL !== undefined, err: new SkitaiError('SKT_APP_LOAD', 'x').code }));
EOF
# Type-only checks, never run: the types are Skitai's, not `any` (if 'skitai' resolved to nothing
# typed, these lines would compile and the unused @ts-expect-error would fail).
cat > type-checks.ts <<'EOF'
import { App } from 'skitai';
import { testClient } from 'skitai/testing';
export const client = testClient(new App());
// @ts-expect-error: a route parameter that the rule does not have (typed from the rule string)
new App().route('/item/<int:id>', (_was, { nmae }) => nmae);
// @ts-expect-error: a route rule is a string
new App().route(42, () => 'x');
// @ts-expect-error: App has no such method
new App().nosuchmethod();
EOF
npx tsc -p . || fail "the TypeScript app does not type-check"
# Skitai's own declarations are consistent too (docs/typescript.md says skipLibCheck is optional).
npx tsc -p . --skipLibCheck false || fail "the TypeScript app does not type-check without skipLibCheck"
# And under the tsconfig.json that `tsc --init` writes (docs/typescript.md says it needs no change).
mkdir -p init && cp webapp.ts type-checks.ts init/
(cd init && npx tsc --init >/dev/null && npx tsc -p .) || fail "the TypeScript app does not type-check under tsc --init's settings"

# Records every module any process of the site loads (NODE_OPTIONS reaches the workers): the URLs
# the ESM resolver sees, and at exit the CommonJS cache (require() is not seen by the hooks).
cat > probe.mjs <<'EOF'
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const log = process.env.SMOKE_MODULES;
register('./probe-hooks.mjs', import.meta.url, { data: log });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(log, Object.keys(cache).map((f) => `${process.pid} ${f}\n`).join('') + `${process.pid} exit\n`));
EOF
cat > probe-hooks.mjs <<'EOF'
import { appendFileSync } from 'node:fs';
let log;
export function initialize(file) { log = file; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(log, `${process.pid} ${r.url}\n`);
  return r;
}
EOF

# serve NAME CONF READY: start `npx skitaid -c CONF -p 0` in the background and wait for the log
# line READY (a regex) that names the port and the pid of the site's main process.
serve() {
  local name=$1 conf=$2 ready=$3 line
  : > "$name.log"
  SMOKE_MODULES=$proj/$name.modules NODE_OPTIONS="--import $proj/probe.mjs" setsid npx skitaid -c "$conf" -p 0 > "$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    line=$(grep -E "$ready" "$name.log" | head -1 || true)
    if [ -n "$line" ]; then
      port=$(grep -oE '(port |:)[0-9]+' <<< "$line" | grep -oE '[0-9]+$' | tail -1)
      main_pid=$(grep -oE 'pid [0-9]+' <<< "$line" | grep -oE '[0-9]+')
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$name.log" >&2; return 1; }
    sleep 0.1 # polling a log file; there is no event to wait on from a shell
  done
  cat "$name.log" >&2
  return 1
}
stop_last() { stop_group "${pids[-1]}" "$main_pid"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

step "npx skitaid: a JavaScript site with two workers"
mkdir -p js
cat > js/webapp.js <<'EOF'
import { App } from 'skitai';
export const app = new App();
app.route('/hello', () => 'Hello from JavaScript');
EOF
printf '[server]\nprocesses = 2\n[routes:line]\n/ = ./webapp.js\n' > js/site.conf
serve js js/site.conf 'primary \(pid [0-9]+\): 2 workers listening on port [0-9]+' || fail "the JS site did not start"
body=$(curl -fsS "http://127.0.0.1:$port/hello")
[ "$body" = 'Hello from JavaScript' ] || fail "JS site answered: $body"
stop_last
grep -q '/node_modules/skitai/dist/' js.modules || fail "the module probe recorded nothing from skitai (probe broken?)"
site_pids=$(grep '/node_modules/skitai/dist/' js.modules | cut -d' ' -f1 | sort -u)
[ "$(wc -w <<< "$site_pids")" -ge 3 ] || fail "the probe did not see the primary and both workers"
for pid in $site_pids; do
  grep -qx "$pid exit" js.modules || fail "process $pid did not exit normally (its CommonJS modules are unknown)"
done
if grep -E '/node_modules/(tsx|esbuild|@esbuild)/' js.modules; then fail "the JS site loaded TypeScript tooling"; fi
# Loaded on first use (start-up time): a site that sends no mail, has no database, makes no
# outgoing call and parses no multipart body needs none of them.
if grep -E '/node_modules/(undici|pg|nodemailer|busboy|nunjucks)/' js.modules; then fail "the JS site loaded a dependency it does not use"; fi

step "npx skitaid: a TypeScript site without tsx installed"
mkdir -p ts/templates && cp webapp.ts ts/webapp.ts # setupTemplates() needs its folder
printf '[server]\nsecurekey = smoke-test-key-123\n[routes:line]\n/ = ./webapp.ts\n' > ts/site.conf
set +e
SMOKE_MODULES=$proj/ts0.modules NODE_OPTIONS="--import $proj/probe.mjs" timeout 60 npx skitaid -c ts/site.conf -p 0 > ts0.log 2>&1
code=$?
set -e
[ "$code" -ne 0 ] && [ "$code" -ne 124 ] || fail "a TS site without tsx did not fail (exit $code)"
grep -q 'SKT_APP_LOAD' ts0.log && grep -qE '\\?"tsx\\?" is not installed' ts0.log || { cat ts0.log >&2; fail "no SKT_APP_LOAD naming tsx"; }

step "npx skitaid: the TypeScript site with tsx installed"
npm install --silent --no-audit --no-fund -D "tsx@$(version tsx)" >/dev/null
serve ts ts/site.conf 'site listening on .* \(pid [0-9]+\)' || fail "the TS site did not start"
body=$(curl -fsS "http://127.0.0.1:$port/item/7")
[ "$body" = '{"id":7,"path":"/item/7"}' ] || fail "TS site answered: $body"
stop_last
grep -qE '/node_modules/tsx/' ts.modules || fail "the probe did not see tsx load for the TS site"

step "ok"
