import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { foreground, freePort, killForeground, type Foreground } from '../support/cli.js';

/**
 * The quick start: `npm start` runs `skitaid -c examples/site.conf`; here on a free port, through
 * the real bin, with the pages the README and examples/static/index.html promise.
 */

const CONF = path.resolve(import.meta.dirname, '../../examples/site.conf');
let fg: Foreground | undefined;
let base = '';

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  fg = foreground(['-c', CONF, '-p', String(port)]);
  await fg.until(/listening on/);
});
after(() => killForeground(fg));

test('the example site serves its static page, routes, template, session and ping', async () => {
  assert.equal(await (await fetch(`${base}/hello`)).text(), 'Hello World');
  assert.match(await (await fetch(`${base}/`)).text(), /Skitai is running/);
  assert.equal(await (await fetch(`${base}/ping`)).text(), 'pong');
  assert.deepEqual(await (await fetch(`${base}/item/42`)).json(), { id: 42, path: '/item/42' });
  assert.equal(await (await fetch(`${base}/stream`)).text(), 'chunk 1\nchunk 2\nchunk 3\n');
  assert.match(await (await fetch(`${base}/greet/%3Cb%3EWorld`)).text(), /<h1>Hello &lt;b&gt;World<\/h1>/);
  const first = await fetch(`${base}/visits`);
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
  assert.deepEqual(await first.json(), { visits: 1 });
  assert.deepEqual(await (await fetch(`${base}/visits`, { headers: { cookie } })).json(), { visits: 2 });
});

test('its add() answers JSON-RPC and Python\'s xmlrpc.client', async () => {
  const res = await fetch(`${base}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [2, 3], id: 1 }),
  });
  assert.deepEqual(await res.json(), { jsonrpc: '2.0', result: 5, id: 1 });
  const py = `import xmlrpc.client\nprint(xmlrpc.client.ServerProxy('${base}/').add(40, 2))`;
  assert.equal(execFileSync('python3', ['-c', py], { encoding: 'utf8' }).trim(), '42');
});
