import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSite, type TestSite } from '../support/site.js';

// Members are Skitai sites themselves: the seed README's map-reduce, end to end over our own
// XML-RPC server and client.
const MEMBER = (name: string): string => `
import { App } from 'skitai';
export const app = new App();
app.route('/search', (was, { keyword }) => [\`${name}:\${keyword}\`], { params: ['keyword'] });
app.route('/whoami', () => ({ member: '${name}' }));
`;

const FRONT = `
import { App, Status } from 'skitai';
export const app = new App();
app.route('/search', async (was, { keyword = 'Mozart' }) => {
  const s = was.map('@mypypi/pypi');
  s.search(keyword);
  const results = await s.getswait(2);
  return results.filter((r) => r.status === Status.NORMAL).flatMap((r) => r.data).sort();
});
app.route('/one', async (was, { keyword = 'Bach' }) => {
  const s = was.lb('@mypypi/pypi');
  s.search(keyword);
  const r = await s.getwait(2);
  return { status: r.status, data: r.data };
});
app.route('/rest', async (was, { url }) => {
  const r = await was.get(url).getwait(2);
  return { status: r.status, code: r.code, data: r.data };
});
app.route('/statuses', async (was) => {
  const results = await was.map('@mixed/whoami', 'GET').getswait(0.5);
  return results.map((r) => r.status).sort();
});
app.route('/view', (was) => was.status());
`;

let m1: TestSite;
let m2: TestSite;
let front: TestSite;
let slow: http.Server;
let plain: http.Server;

before(async () => {
  m1 = await startSite('[routes:line]\n/pypi = ./member\n', { 'member.ts': MEMBER('m1') });
  m2 = await startSite('[routes:line]\n/pypi = ./member\n', { 'member.ts': MEMBER('m2') });
  // Answers at 5 s: far past the 0.5 s deadline below, even on a loaded machine.
  slow = http.createServer((req, res) => {
    const t = setTimeout(() => res.end('{"member":"slow"}'), 5000);
    res.on('close', () => clearTimeout(t));
  });
  plain = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"plain":true}'));
  await Promise.all([slow, plain].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const slowPort = (slow.address() as AddressInfo).port;
  front = await startSite(
    `[routes:line]
/ = ./front

[@mypypi]
members = 127.0.0.1:${m1.port}, 127.0.0.1:${m2.port}

[@mixed]
members = 127.0.0.1:${m1.port}, 127.0.0.1:${slowPort}, 127.0.0.1:1
`,
    { 'front.ts': FRONT },
  );
});
after(async () => {
  await front?.close();
  await Promise.all([m1?.close(), m2?.close()]);
  slow?.closeAllConnections();
  await Promise.all([slow, plain].map((s) => new Promise((r) => s?.close(r))));
});

describe('was clients from a handler', () => {
  test("the seed's map-reduce: every member's XML-RPC result gathered", async () => {
    const r = await fetch(front.base + '/search?keyword=Mozart');
    assert.deepEqual(await r.json(), ['m1:Mozart', 'm2:Mozart']);
  });

  test('lb sends to one member and returns its Result', async () => {
    const body = (await (await fetch(front.base + '/one')).json()) as { status: number; data: string[] };
    assert.equal(body.status, 3);
    assert.equal(body.data.length, 1);
    assert.match(body.data[0]!, /^m[12]:Bach$/);
  });

  test('was.get on a plain URL parses JSON', async () => {
    const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/x`;
    const body = await (await fetch(front.base + '/rest?url=' + encodeURIComponent(url))).json();
    assert.deepEqual(body, { status: 3, code: 200, data: { plain: true } });
  });

  test('map returns NORMAL, TIMEOUT and NETERR per member at the deadline', async () => {
    const started = Date.now();
    const statuses = await (await fetch(front.base + '/statuses')).json();
    assert.deepEqual(statuses, [1, 2, 3]);
    assert.ok(Date.now() - started < 4000, 'answered at the 0.5 s deadline, not after the slow member');
  });

  test('was.status() shows the clusters', async () => {
    const view = (await (await fetch(front.base + '/view')).json()) as { clusters: Record<string, { members: unknown[] }> };
    assert.deepEqual(Object.keys(view.clusters).sort(), ['mixed', 'mypypi']);
    assert.equal(view.clusters.mypypi!.members.length, 2);
  });
});
