/**
 * The reverse proxy on its own member client (src/transport/h1), seen from a client: a smuggling
 * attempt from a member is a 502 and poisons nothing; a member that closes idle connections costs
 * no request, not even a POST; `was.lb` calls share the proxy's connections; `proxy_client = undici`
 * still proxies.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startSite, type TestSite } from '../support/site.js';
import { RawMember } from '../support/h1.js';
import { until } from '../support/until.js';

let site: TestSite;
const smuggler = new RawMember();
const closer = new RawMember();
const plain = new RawMember();
const shared = new RawMember();
const apart = new RawMember();

// A route that calls a cluster with was.lb, beside the reverse proxy to the same cluster.
const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/call/<name>', async (was, { name }) => {
  const r = await was.lb('@' + name + '/called', 'GET').getwait(5);
  return { status: r.status, body: String(r.data) };
});
`;

function request(path: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${site.base}${path}`, { method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`no whole answer to ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  for (const m of [smuggler, closer, plain, shared, apart]) await m.listen();
  smuggler.answer = (seen) => {
    if (seen.path === '/smuggle') {
      // Framed one way by Content-Length and another by chunked: the second "response" would be served to the next client.
      const inner = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nEVIL!\n';
      seen.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${inner}`);
    } else {
      seen.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood');
    }
  };
  // Answers keep-alive, then closes the idle connection (as a member whose keep-alive timeout is short).
  closer.answer = (seen) => {
    seen.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${seen.body.length + 3}\r\n\r\ngot${seen.body.toString()}`, () => seen.socket.end());
  };
  site = await startSite(
    `[routes:line]\n/s = @smuggler\n/c = @closer\n/u = @viaundici\n/sh = @shared\n/ap = @apart\n/app = ./app\n\n` +
      `[@smuggler]\nmembers = ${new URL(smuggler.origin).host}\n\n` +
      `[@closer]\nmembers = ${new URL(closer.origin).host}\n\n` +
      `[@viaundici]\nmembers = ${new URL(plain.origin).host}\nproxy_client = undici\n\n` +
      `[@shared]\nmembers = ${new URL(shared.origin).host}\nmax_conns = 1\n\n` +
      `[@apart]\nmembers = ${new URL(apart.origin).host}\nmax_conns = 1\ncall_client = undici\n`,
    { 'app.ts': APP },
  );
});

after(async () => {
  await site?.close();
  for (const m of [smuggler, closer, plain, shared, apart]) await m.close();
});

describe('the member client', () => {
  test('a response framed two ways (Content-Length and chunked) is a 502; the next client gets its own answer', async () => {
    const got = await request('/s/smuggle');
    assert.equal(got.status, 502);
    assert.match(got.body, /SKT_PROXY_BAD_GATEWAY/);
    const next = await request('/s/next');
    assert.equal(next.status, 200);
    assert.equal(next.body, 'good');
    assert.notEqual(smuggler.seen.at(-1)!.conn, smuggler.seen.at(-2)!.conn, 'the poisoned connection was not reused');
  });

  test('a member closing idle connections: every POST arrives once, on a live connection', async () => {
    for (let i = 0; i < 3; i++) {
      const conns = closer.connections;
      await until(() => closer.sockets.size === 0, 10_000, 'the member closed its idle connection');
      const got = await request('/c/form', 'POST', `n=${i}`);
      assert.equal(got.status, 200);
      assert.equal(got.body, `gotn=${i}`);
      assert.equal(closer.connections, conns + 1);
    }
    assert.equal(closer.seen.length, 3, 'no request sent twice');
  });

  test('was.lb and the proxy to one cluster share its connections (call_client = skitai); call_client = undici keeps its own', async () => {
    for (const path of ['/app/call/shared', '/sh/proxied', '/app/call/shared', '/sh/proxied']) {
      const got = await request(path);
      assert.equal(got.status, 200, path);
      if (path.startsWith('/app')) assert.deepEqual(JSON.parse(got.body), { status: 3, body: 'ok' });
    }
    assert.deepEqual(shared.seen.map((x) => x.path), ['/called', '/proxied', '/called', '/proxied']);
    assert.equal(shared.connections, 1, 'one keep-alive connection carried the calls and the proxied requests');
    for (const path of ['/app/call/apart', '/ap/proxied', '/app/call/apart', '/ap/proxied']) assert.equal((await request(path)).status, 200, path);
    assert.equal(apart.connections, 2, 'undici for the calls, Skitai\'s client for the proxy: one connection each');
  });

  test('proxy_client = undici: proxied by undici as before', async () => {
    const got = await request('/u/x');
    assert.equal(got.status, 200);
    assert.equal(got.body, 'ok');
  });
});
