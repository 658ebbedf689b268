import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { skitaid, tempSite } from '../support/cli.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** `skitaid --check` on a site whose `/` route is app.ts with `source`, plus `conf` under [server]. */
async function check(source: string, conf = '', files: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; dir: string }> {
  const site = tempSite(`[server]\nport = 0\n${conf}\n[routes:line]\n/ = ./app\n`, { 'app.ts': source, ...files });
  dirs.push(site.dir);
  return { ...(await skitaid(['--check', '-c', site.conf])), dir: site.dir };
}

const GOOD = `import fs from 'node:fs';
import { App } from 'skitai';
export const app = new App().useSession();
app.templateDir = 'views';
app.get('/', () => 'hi');
// --check must not run startup hooks, nor be kept alive by what a module opens when imported.
app.startup(() => fs.writeFileSync(new URL('./started', import.meta.url), 'yes'));
setInterval(() => {}, 60_000);
`;

test('--check imports the apps: a good site passes without running startup hooks or listening', async () => {
  const r = await check(GOOD, 'securekey = a-long-enough-key', { 'views/page.html': 'x' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[ok\] config file .*site\.conf and its apps are good$/m);
  assert.equal(fs.existsSync(path.join(r.dir, 'started')), false, 'a startup hook ran');
  assert.doesNotMatch(r.stdout + r.stderr, /listening/);
});

test('--check fails, exit 1, for each defect a start would find in an app', async () => {
  const cases: [string, string, string, Record<string, string>, RegExp][] = [
    ['a module it imports is missing', `import './gone.js';\nimport { App } from 'skitai';\nexport const app = new App();\n`, '', {},
      /SKT_APP_LOAD: .*site\.conf:line 5 \[routes:line\] \/: cannot load app module .*app\.ts: .*gone/],
    ['no `export const app`', `import { App } from 'skitai';\nexport const application = new App();\n`, '', {},
      /SKT_APP_LOAD: .*line 5 \[routes:line\] \/: .*app\.ts does not export `app`/],
    ['useSession() without securekey', `import { App } from 'skitai';\nexport const app = new App().useSession();\n`, '', {},
      /SKT_SESSION_NO_KEY: .*line 5 \[routes:line\] \/: .*calls app\.useSession\(\) but \[server\] securekey is not set/],
    ['a missing template folder', `import { App } from 'skitai';\nexport const app = new App();\napp.templateDir = 'views';\n`, '', {},
      /SKT_TEMPLATE_DIR: .*line 5 .*template directory \S+views does not exist/],
    ['permitTo() without a user who can log in', `import { App } from 'skitai';\nexport const app = new App().permitTo('staff');\n`, '', {},
      /SKT_AUTH_NO_USERS: .*protects routes/],
    ['a malformed route rule', `import { App } from 'skitai';\nexport const app = new App();\napp.get('/x/<int:id', () => '');\n`, '', {},
      /SKT_APP_LOAD: .*line 5 .*cannot load app module/],
  ];
  // One at a time: six tsx processes at once time out on a busy two-core machine.
  for (const [what, source, conf, files, pattern] of cases) {
    const r = await check(source, conf, files);
    assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, pattern, what);
    assert.doesNotMatch(r.stdout, /\[ok\]/, what);
  }
});

test('--check fails for a route proxying to a postgresql cluster, naming the route line', async () => {
  const site = tempSite('[server]\nport = 0\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:5432/app/app/secret-pw\n[routes:line]\n/db = @db\n');
  dirs.push(site.dir);
  const r = await skitaid(['--check', '-c', site.conf]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SKT_CONFIG_ROUTE: .*site\.conf:line 7 \[routes:line\] \/db: cannot proxy to @db: it is a postgresql cluster/);
  assert.doesNotMatch(r.stderr, /secret-pw/);
});

test('--check reads ${ENV}: a missing variable is named, with file and line, and no value is printed', async () => {
  const site = tempSite('[server]\nport = ${SKITAI_CHECK_PORT:-0}\nadmin_password = ${SKITAI_CHECK_ADMIN}\n');
  dirs.push(site.dir);
  const missing = await skitaid(['--check', '-c', site.conf]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /SKT_CONFIG_ENV: .*site\.conf:line 3 \[server\] admin_password: environment variable SKITAI_CHECK_ADMIN is not set/);
  process.env.SKITAI_CHECK_ADMIN = 'from-the-environment';
  try {
    const good = await skitaid(['--check', '-c', site.conf]);
    assert.equal(good.code, 0, good.stderr);
    assert.doesNotMatch(good.stdout + good.stderr, /from-the-environment/);
  } finally {
    delete process.env.SKITAI_CHECK_ADMIN;
  }
});
