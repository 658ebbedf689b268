import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Clients } from '../../src/services/clients.js';
import { Status } from '../../src/call/status.js';
import { isSkitaiError } from '../../src/errors.js';
import { clusterConfig } from '../cluster/helpers.js';
import { startMember, type MemberServer } from '../support/members.js';

// Call deadlines are generous (10 s) where they are not what a test checks: a loaded machine is slow.
type Echo = { name: string; method: string; url: string; type: string; body: string; auth: string | null };

let m: MemberServer;
let c: Clients;

before(async () => {
  m = await startMember('echo');
  c = new Clients({
    clusters: [clusterConfig({ members: m.node }, 'one'), clusterConfig({ type: 'postgresql', members: 'db:5432/x/u/p' }, 'db')],
  });
});
after(async () => {
  await c.close();
  await m.kill();
});

describe('rest, wget and the verb helpers', () => {
  test('wget: GET without data, form POST with data', async () => {
    const g = await c.wget(`${m.url}/page?x=1`).getwait(10);
    assert.deepEqual([g.status, g.code, g.msg, g.node], [Status.NORMAL, 200, 'OK', m.node]);
    assert.equal((g.data as Echo).url, '/page?x=1');
    assert.equal(g.header['content-type'], 'application/json');
    const p = (await c.wget(`${m.url}/form`, { a: 'b c' }).getwait(10)).data as Echo;
    assert.deepEqual([p.method, p.body, p.type], ['POST', 'a=b+c', 'application/x-www-form-urlencoded; charset=utf-8']);
  });

  test('get/post/put/patch/delete send their verb and body', async () => {
    const echo = async (call: ReturnType<Clients['get']>): Promise<Echo> => (await call.getwait(10)).data as Echo;
    assert.equal((await echo(c.get(`${m.url}/g`, { q: 1 }))).url, '/g?q=1');
    assert.equal((await echo(c.post(`${m.url}/p`, 'raw text'))).body, 'raw text');
    assert.deepEqual(await echo(c.put(`${m.url}/u`, { a: 1 })).then((e) => [e.method, e.body]), ['PUT', '{"a":1}']);
    assert.equal((await echo(c.patch(`${m.url}/u`, { a: 2 }))).method, 'PATCH');
    assert.equal((await echo(c.delete(`${m.url}/d`, { id: 3 }))).url, '/d?id=3');
    const up = await echo(c.rest(`${m.url}/up`, 'UPLOAD', { title: 'hi', file: { data: 'file body', filename: 'a.txt', type: 'text/plain' } }));
    assert.match(up.type, /^multipart\/form-data; boundary=/);
    assert.match(up.body, /name="file"; filename="a.txt"\r\nContent-Type: text\/plain\r\n\r\nfile body/);
  });

  test('gzip bodies are decoded; login is Basic auth (from the option or the URL); bytes stay a Buffer', async () => {
    const z = await c.get(`${m.url}/gzip`).getwait(10);
    assert.equal((z.data as Echo).name, 'echo');
    assert.equal(z.header['content-encoding'], 'gzip');
    const a = (await c.get(`${m.url}/auth`, undefined, { login: 'ann:pw' }).getwait(10)).data as Echo;
    assert.equal(a.auth, `Basic ${Buffer.from('ann:pw').toString('base64')}`);
    const u = (await c.get(`http://bob:s3cret@${m.node}/auth`).getwait(10)).data as Echo;
    assert.equal(u.auth, `Basic ${Buffer.from('bob:s3cret').toString('base64')}`);
    const b = await c.get(`${m.url}/bytes`).getwait(10);
    assert.deepEqual(b.data, Buffer.from([0, 1, 2, 255]));
    const missing = await c.get(`${m.url}/missing`).getwait(10);
    assert.deepEqual([missing.status, missing.code, missing.msg], [Status.NORMAL, 404, 'Not Found']);
  });

  test('XML-RPC over rest: value, fault, and an HTML page with 200 is a NETERR that says so', async () => {
    const v = await c.rest(`${m.url}/rpc2`).system.listMethods().getwait(10);
    assert.deepEqual(v.data, { name: 'echo', method: 'system.listMethods', params: [] });
    const f = await c.rest(`${m.url}/rpc2`).fault().getwait(10);
    assert.deepEqual([f.status, f.data, f.fault], [Status.NORMAL, null, { code: 4, message: 'Too many parameters' }]);
    const html = await c.rest(`${m.url}/html`, 'XMLRPC', undefined, { headers: { 'content-type': 'text/plain' } }).m().getwait(10);
    assert.equal(html.status, Status.NETERR);
    assert.equal(html.code, 'SKT_RPC_RESPONSE');
    assert.match(html.msg, /^HTTP 200 from 127\.0\.0\.1:\d+: malformed XML-RPC response \(an HTML page starting "<!doctype html>/);
  });

  test('response_timeout gives TIMEOUT; the call deadline is separate', async () => {
    // undici runs response timeouts on coarse timers (up to ~1 s late), so the member waits longer.
    // 4 s: well past both, so a loaded machine cannot make the member look fast enough.
    m.delayMs = 4000;
    // Its own Clients: a 0.3 s response_timeout on the shared one would time out other tests on a loaded machine.
    const quick = new Clients({ responseTimeout: 300 });
    try {
      const r = await quick.get(`${m.url}/slow`).getwait(5);
      assert.equal(r.status, Status.TIMEOUT);
      assert.match(r.msg, /no response from 127\.0\.0\.1:\d+ within 0\.3 s \(response_timeout\)/);
      assert.ok(r.elapsed < 3000, `${r.elapsed} ms`);
    } finally {
      m.delayMs = 0;
      await quick.close();
    }
  });

  test('a body over max_response_size is a NETERR', async () => {
    const small = new Clients({ maxResponseSize: 10 });
    try {
      const r = await small.get(`${m.url}/big`).getwait(10);
      assert.deepEqual([r.status, r.code], [Status.NETERR, 'SKT_CLIENT_RESPONSE']);
      assert.match(r.msg, /over max_response_size \(10 bytes\)/);
    } finally {
      await small.close();
    }
  });
});

describe('the facade', () => {
  test('unknown cluster, postgresql cluster and bad URLs throw at once', () => {
    assert.throws(() => c.lb('@nope/x'), (e: unknown) => isSkitaiError(e, 'SKT_CLUSTER_UNKNOWN') && /known: @one/.test(e.message));
    assert.throws(() => c.map('@db/x'), (e: unknown) => isSkitaiError(e, 'SKT_CLUSTER_TYPE'));
    assert.throws(() => c.get('not a url'), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    assert.deepEqual(c.clusterNames, ['one']);
  });

  test('rest with an @name target goes through the cluster', async () => {
    const r = await c.rest('@one/via', 'GET').getwait(10);
    assert.equal((r.data as Echo).url, '/via');
  });

  test('a config error names file, line and key when the clients are built', () => {
    assert.throws(() => new Clients({ clusters: [clusterConfig({ members: 'a:1', strategy: 'best' }, 'x', '/srv/site.conf')] }), (e: unknown) =>
      isSkitaiError(e, 'SKT_CONFIG_VALUE') && e.message.startsWith('/srv/site.conf:line 3 [@x] strategy:'));
  });

  test('status is JSON; after close every call is a NETERR SKT_CLIENT_CLOSED', async () => {
    const own = new Clients({ clusters: [clusterConfig({ members: m.node }, 'one')] });
    await own.lb('@one/x', 'GET').getwait(10);
    const status = own.status();
    assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
    assert.equal(status.clusters.one!.members[0]!.requests, 1);
    assert.equal(status.clusters.one!.members[0]!.latency!.samples, 1);
    await own.close();
    const [lb, rest] = await Promise.all([own.lb('@one/x', 'GET').getwait(10), own.get(`${m.url}/x`).getwait(10)]);
    assert.deepEqual([lb.status, lb.code, rest.code], [Status.NETERR, 'SKT_CLIENT_CLOSED', 'SKT_CLIENT_CLOSED']);
  });
});
