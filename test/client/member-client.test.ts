/**
 * Calls to a cluster on either member client (`call_client = skitai`, the default, and `undici`):
 * the same requests reach the member and the same Results come back; Skitai's own client keeps one
 * connection, refuses a response framed two ways, times out exactly; a caller's bad header is a
 * usage error on both, before anything is sent.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Upstream } from '../../src/client/upstream.js';
import { parseClusterOptions } from '../../src/cluster/options.js';
import { Clients } from '../../src/services/clients.js';
import { Status } from '../../src/call/status.js';
import { isSkitaiError } from '../../src/errors.js';
import { clusterConfig } from '../cluster/helpers.js';
import { RawMember } from '../support/h1.js';
import { startMember, type MemberServer } from '../support/members.js';

type Echo = { name: string; method: string; url: string; type: string; body: string; auth: string | null };

let echo: MemberServer;
const raw = new RawMember();
let c: Clients;

before(async () => {
  echo = await startMember('echo');
  await raw.listen();
  const rawNode = new URL(raw.origin).host;
  c = new Clients({
    clusters: [
      clusterConfig({ members: echo.node }, 'own'),
      clusterConfig({ members: echo.node, call_client: 'undici' }, 'undici'),
      clusterConfig({ members: echo.node, max_response_size: '64KiB' }, 'ownsmall'),
      clusterConfig({ members: echo.node, call_client: 'undici', max_response_size: '64KiB' }, 'undicismall'),
      clusterConfig({ members: rawNode, response_timeout: '0.3' }, 'raw'),
      clusterConfig({ members: rawNode, call_client: 'undici' }, 'rawundici'),
    ],
  });
});
after(async () => {
  await c.close();
  await echo.kill();
  await raw.close();
});

for (const cluster of ['own', 'undici']) {
  describe(`call_client = ${cluster === 'own' ? 'skitai' : 'undici'}`, () => {
    const call = async (method: string, path: string, data?: unknown, headers?: Record<string, string>): Promise<Echo> => {
      const r = await c.lb(`@${cluster}${path}`, method as 'GET', data, headers ? { headers } : undefined).getwait(10);
      assert.equal(r.status, Status.NORMAL, `${method} ${path}: ${r.msg}`);
      return r.data as Echo;
    };

    test('verbs, queries and every kind of body arrive as sent', async () => {
      assert.deepEqual(await call('GET', '/g', { q: 'a b' }).then((e) => [e.method, e.url, e.body]), ['GET', '/g?q=a+b', '']);
      assert.deepEqual(await call('POST', '/f', { a: 'é' }).then((e) => [e.type, e.body]), ['application/x-www-form-urlencoded; charset=utf-8', 'a=%C3%A9']);
      assert.deepEqual(await call('PUT', '/j', { s: 'ünï' }).then((e) => [e.method, e.body]), ['PUT', '{"s":"ünï"}']);
      assert.equal((await call('POST', '/t', 'plain ✓ text', { 'content-type': 'text/plain' })).body, 'plain ✓ text');
      assert.equal((await call('PATCH', '/b', Buffer.from('bytes'))).body, 'bytes');
      assert.equal((await call('POST', '/s', Readable.from([Buffer.from('stre'), Buffer.from('amed')]))).body, 'streamed');
      assert.equal((await call('DELETE', '/d', { id: 3 })).url, '/d?id=3');
      const up = await call('UPLOAD', '/up', { title: 'hi', file: { data: 'file body', filename: 'a.txt', type: 'text/plain' } });
      assert.match(up.type, /^multipart\/form-data; boundary=/);
      assert.match(up.body, /name="file"; filename="a.txt"\r\nContent-Type: text\/plain\r\n\r\nfile body/);
      const seen = echo.seen.at(-2)!; // the DELETE: the member saw our headers
      assert.equal(seen.headers['user-agent'], 'Mozilla/5.0 (compatible; Skitaibot/0.1)');
      assert.equal(seen.headers.host, echo.node);
    });

    test('gzip is decoded, bytes stay bytes, a 404 is a NORMAL result, RPC both ways', async () => {
      const z = await c.lb(`@${cluster}/gzip`, 'GET').getwait(10);
      assert.deepEqual([(z.data as Echo).name, z.header['content-encoding']], ['echo', 'gzip']);
      assert.deepEqual((await c.lb(`@${cluster}/bytes`, 'GET').getwait(10)).data, Buffer.from([0, 1, 2, 255]));
      const missing = await c.lb(`@${cluster}/missing`, 'GET').getwait(10);
      assert.deepEqual([missing.status, missing.code, missing.msg], [Status.NORMAL, 404, 'Not Found']);
      const x = await c.lb(`@${cluster}/rpc`, 'XMLRPC').math.add(1, 2).getwait(10);
      assert.deepEqual(x.data, { name: 'echo', method: 'math.add', params: [1, 2] });
      const j = await c.lb(`@${cluster}/rpc`, 'JSONRPC').math.sub(5, 2).getwait(10);
      assert.deepEqual(j.data, { name: 'echo', method: 'math.sub', params: [5, 2] });
    });

    test('HEAD has no body; a 1 MiB body goes out and its echo comes back whole; over max_response_size is a NETERR', async () => {
      const head = await c.lb(`@${cluster}/h`, 'HEAD').getwait(10);
      assert.deepEqual([head.status, head.code], [Status.NORMAL, 200]);
      assert.equal(head.header['content-type'], 'application/json');
      const big = 'z'.repeat(2 ** 20);
      assert.equal((await call('PUT', '/big', big, { 'content-type': 'text/plain' })).body.length, 2 ** 20);
      const small = await c.lb(`@${cluster === 'own' ? 'ownsmall' : 'undicismall'}/big`, 'PUT', big, { headers: { 'content-type': 'text/plain' } }).getwait(10);
      assert.equal(small.status, Status.NETERR);
      assert.match(small.msg, /max_response_size/);
      assert.equal((await call('GET', '/after')).url, '/after', 'the member is still reachable');
    });

    test("a caller's header with CR/LF, or a name that is not a token, throws SKT_CLIENT_USAGE and sends nothing", () => {
      const before = echo.hits;
      assert.throws(() => c.lb(`@${cluster}/x`, 'GET', undefined, { headers: { 'x-a': 'v\r\nx-injected: 1' } }), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE') && /x-a/.test(e.message));
      assert.throws(() => c.lb(`@${cluster}/x`, 'GET', undefined, { headers: { 'bad name': 'v' } }), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE') && /bad name/.test(e.message));
      assert.equal(echo.hits, before);
    });

    test('a number as a header value is sent as its digits', async () => {
      await call('GET', '/n', undefined, { 'x-page': 2 as unknown as string });
      assert.equal(echo.seen.at(-1)!.headers['x-page'], '2');
    });
  });
}

describe("Skitai's own member client", () => {
  test('sequential calls reuse one keep-alive connection', async () => {
    raw.answer = (s) => void s.socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"ok":1}');
    const conns = raw.connections;
    for (let i = 0; i < 5; i++) assert.deepEqual((await c.lb('@raw/k', 'GET').getwait(10)).data, { ok: 1 });
    assert.equal(raw.connections, conns + 1);
  });

  test('a response framed two ways is a NETERR, never guessed at; undici says the same in its words', async () => {
    raw.answer = (s) => void s.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    const own = await c.lb('@raw/two', 'GET').getwait(10);
    assert.equal(own.status, Status.NETERR);
    assert.match(own.msg, /127\.0\.0\.1/);
    const other = await c.lb('@rawundici/two', 'GET').getwait(10);
    assert.equal(other.status, Status.NETERR);
  });

  test('response_timeout: a member that never answers is a TIMEOUT naming the key', async () => {
    raw.answer = () => undefined;
    const r = await c.lb('@raw/silent', 'GET').getwait(10);
    assert.equal(r.status, Status.TIMEOUT);
    assert.match(r.msg, /within 0\.3 s \(response_timeout\)/);
  });

  test('calls and the reverse proxy share one pool per member; undici and http2 keep their own', () => {
    const shared = new Upstream(parseClusterOptions(clusterConfig({ members: '127.0.0.1:1' })));
    const member = shared.cluster.members[0]!;
    assert.equal(shared.endpoint(member).h1, shared.streamTarget(member).dispatcher);
    const undici = new Upstream(parseClusterOptions(clusterConfig({ members: '127.0.0.1:1', call_client: 'undici' })));
    assert.equal(undici.endpoint(undici.cluster.members[0]!).h1, undefined);
    void shared.close(0);
    void undici.close(0);
  });
});
