import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSite, type TestSite } from '../support/site.js';

// Secrets the site's config holds, which an app error quotes: no page may show them, devel or not.
const KEY = 'securekey-Zq81x';
const ADMIN = 'admin-pw-Jk27s';
const ALICE = 'alice-pw-Wm55t';
const DB_PW = 'db-pw-Hx93r';

const app = (name: string, devel: boolean): string => `
import { App } from 'skitai';
export const app = new App();
app.devel = ${devel};
app.route('/${name}/boom', () => {
  throw new Error('${name} failed: key ${KEY}, admin ${ADMIN}, alice ${ALICE}, db postgres://bob:${DB_PW}@db.local/x');
});
app.route('/${name}/add', (was, { a, b }) => { throw new Error('${name} add failed: ' + '${ALICE}'); }, { params: ['a', 'b'] });
`;

let s: TestSite;
before(async () => {
  s = await startSite(
    `[server]\nsecurekey = ${KEY}\nadmin_password = ${ADMIN}\n[users]\nalice = ${ALICE} ops\n[routes:line]\n/ = ./devapp\n/ = ./prodapp\n/p = ./prodapp\n`,
    { 'devapp.ts': app('dev', true), 'prodapp.ts': app('prod', false) },
  );
});
after(() => s.close());

function assertNoSecrets(text: string): void {
  for (const secret of [KEY, ADMIN, ALICE, DB_PW]) assert.ok(!text.includes(secret), `the page shows the secret ${secret}: ${text}`);
}

describe('app.devel = true with [server] devel = no', () => {
  test("the devel app's error pages show the message and stack, never a secret", async () => {
    const r = await fetch(s.base + '/dev/boom');
    assert.equal(r.status, 500);
    const body = await r.text();
    assert.match(body, /dev failed: key \[secret hidden\], admin \[secret hidden\], alice \[secret hidden\], db postgres:\/\/bob:\*\*\*@db\.local\/x/);
    assert.match(body, /<pre>Error: dev failed[^]*devapp\.ts:\d+/, 'the stack names the app file');
    assertNoSecrets(body);
  });

  test('another app on the same site (and prefix) keeps plain error pages', async () => {
    const r = await fetch(s.base + '/prod/boom');
    assert.equal(r.status, 500);
    const body = await r.text();
    assert.doesNotMatch(body, /prod failed|prodapp\.ts|<pre>/);
    assertNoSecrets(body);
    // Declined by the devel app first (no such route there): still not devel when another takes it.
    assert.equal((await fetch(s.base + '/nowhere')).status, 404);
  });

  test("RPC faults show the devel app's error text, secrets blanked; the other app's stay generic", async () => {
    // Each app at its own mount point: the first app on a prefix takes every RPC call posted there.
    const call = async (method: string, mount = '/'): Promise<{ code: number; message: string; data?: { stack?: string } }> => {
      const r = await fetch(s.base + mount, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method, params: [1, 2], id: 1 }) });
      return ((await r.json()) as { error: { code: number; message: string; data?: { stack?: string } } }).error;
    };
    const dev = await call('dev.add');
    assert.equal(dev.code, -32000);
    assert.match(dev.message, /dev add failed: \[secret hidden\]/);
    assert.match(String(dev.data?.stack), /devapp\.ts/);
    assertNoSecrets(JSON.stringify(dev));
    const prod = await call('prod.add', '/p');
    assert.deepEqual(prod, { code: -32000, message: 'Server error' });
  });
});
