import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { startSite, type TestSite } from '../support/site.js';

describe('was.ws(): client WebSockets from a handler', { timeout: 60_000 }, () => {
  let site: TestSite;
  const servers: (http.Server | net.Server)[] = [];
  const seen: { url: string; id: string | undefined; traceparent: string | undefined }[] = [];

  async function listen(server: http.Server | net.Server): Promise<string> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(async () => {
    const http1 = http.createServer();
    const wss = new WebSocketServer({ server: http1 });
    wss.on('connection', (ws, req) => {
      seen.push({ url: req.url ?? '', id: req.headers['x-request-id'] as string | undefined, traceparent: req.headers.traceparent as string | undefined });
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo ${String(data)}`));
    });
    const live = await listen(http1);
    const deadServer = net.createServer();
    const dead = await listen(deadServer);
    await new Promise<void>((resolve) => deadServer.close(() => resolve()));
    // Accepts connections and never answers: a handshake that can only time out.
    const silent = await listen(net.createServer(() => {}));
    site = await startSite(
      `[server]\n[routes:line]\n/ = app.mjs\n[@back]\nmembers = ${dead}, ${live}\n[@silent]\nmembers = ${silent}\n`,
      {
        'app.mjs': `
import { App } from 'skitai';
export const app = new App();
async function roundTrip(sock, text) {
  const reply = new Promise((resolve) => sock.on('message', (data) => resolve(data)));
  sock.send(text);
  const got = await reply;
  sock.close();
  return got;
}
app.get('/relay', async (was, { to, t }) => {
  try {
    const sock = await was.ws(to, { timeout: Number(t ?? 5) });
    return JSON.stringify({ node: sock.node, got: await roundTrip(sock, 'hi') });
  } catch (err) {
    return JSON.stringify({ code: err.code, message: err.message });
  }
});
`,
      },
    );
  });
  after(async () => {
    await site?.close();
    for (const s of servers) s.close();
  });

  async function relay(to: string, t?: number): Promise<{ node?: string; got?: string; code?: string; message?: string }> {
    const q = new URLSearchParams({ to, ...(t ? { t: String(t) } : {}) });
    const res = await fetch(`${site.base}/relay?${q}`);
    return (await res.json()) as { node?: string; got?: string; code?: string };
  }

  test('@cluster/uri: a member chosen by the balancer, the unreachable one skipped; the request id and trace travel with the handshake', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await relay('@back/feed?x=1');
      assert.equal(r.got, 'echo hi');
    }
    const last = seen.at(-1)!;
    assert.equal(last.url, '/feed?x=1');
    assert.match(last.id ?? '', /./);
    assert.match(last.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  test('a ws:// URL', async () => {
    const port = (servers[0]!.address() as AddressInfo).port;
    const r = await relay(`ws://127.0.0.1:${port}/direct`);
    assert.equal(r.got, 'echo hi');
    assert.equal(seen.at(-1)!.url, '/direct');
  });

  test('the call deadline bounds the handshake: SKT_WS_CONNECT when it passes', async () => {
    const t0 = Date.now();
    const r = await relay('@silent/x', 0.5);
    assert.equal(r.code, 'SKT_WS_CONNECT');
    assert.match(r.message ?? '', /deadline/);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('a bad target is SKT_WS_USAGE', async () => {
    assert.equal((await relay('ftp://x/')).code, 'SKT_WS_USAGE');
  });
});
