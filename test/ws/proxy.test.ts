import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';
import { WsTestClient, refusedStatus } from '../support/wsclient.js';

/** A bare `ws` server standing in for a cluster member. */
interface WsMember {
  readonly node: string;
  readonly sockets: Set<WebSocket>;
  /** Sockets whose close the member saw, with the code. */
  readonly closes: number[];
  kill(): void;
}

const started: WsMember[] = [];

/** A bare `ws` echo server in a process of its own, to be killed (SIGKILL) mid-session. */
async function memberProcess(): Promise<{ child: ChildProcess; node: string }> {
  const code = `
    import http from 'node:http';
    import { WebSocketServer } from 'ws';
    const server = http.createServer();
    new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, node: `127.0.0.1:${line.toString().trim()}` };
}

async function wsMember(onMessage?: (ws: WebSocket, data: Buffer, isBinary: boolean) => void): Promise<WsMember> {
  const server = http.createServer((_req, res) => res.writeHead(404).end('no such page'));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url?.startsWith('/deny')) return void socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const sockets = new Set<WebSocket>();
  const closes: number[] = [];
  const conns = new Set<Socket>();
  server.on('connection', (s: Socket) => (conns.add(s), s.on('close', () => conns.delete(s))));
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    ws.on('close', (code) => (sockets.delete(ws), closes.push(code)));
    ws.on('message', (data: Buffer, isBinary) => {
      if (onMessage) return onMessage(ws, data, isBinary);
      const text = data.toString();
      if (!isBinary && text === 'who') return ws.send(JSON.stringify({ port: (server.address() as AddressInfo).port, url: req.url, xff: req.headers['x-forwarded-for'], hop: req.headers['proxy-authorization'] ?? null }));
      ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const m: WsMember = {
    node: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    closes,
    kill() {
      server.close();
      for (const c of conns) c.destroy();
    },
  };
  started.push(m);
  return m;
}

describe('WebSocket through the reverse proxy (/prefix = @cluster)', { timeout: 60_000 }, () => {
  let site: TestSite;
  let base: string;
  let a: WsMember;
  let b: WsMember;
  let flood: WsMember;
  let dead: string;
  let doomed: { child: ChildProcess; node: string };

  before(async () => {
    a = await wsMember();
    b = await wsMember();
    const gone = await wsMember();
    gone.kill();
    dead = gone.node;
    flood = await wsMember((ws) => {
      const chunk = Buffer.alloc(256 * 1024);
      for (let i = 0; i < 128; i++) ws.send(chunk);
    });
    doomed = await memberProcess();
    site = await startSite(
      '[server]\n[routes:line]\n/chat = @chat\n/fail = @fail\n/flood = @flood\n/gone = @gone\n/doomed = @doomed\n' +
        `[@doomed]\nmembers = ${doomed.node}, ${a.node}\n` +
        `[@chat]\nmembers = ${a.node}, ${b.node}\n[@fail]\nmembers = ${dead}, ${a.node}\n[@flood]\nmembers = ${flood.node}\n[@gone]\nmembers = ${dead}\n`,
    );
    base = site.base.replace(/^http/, 'ws');
  });
  after(async () => {
    await site?.close();
    for (const m of started) m.kill();
    doomed?.child.kill('SIGKILL');
  });

  test('echo text and binary through a member; prefix stripped, query kept, X-Forwarded-For added, hop-by-hop headers dropped', async () => {
    const c = await WsTestClient.open(`${base}/chat/room?x=1`, { headers: { 'proxy-authorization': 'Basic eDp5' } });
    c.send('who');
    const who = JSON.parse(String((await c.next())[0])) as { url: string; xff: string; hop: string | null };
    assert.equal(who.url, '/room?x=1');
    assert.equal(who.xff, '127.0.0.1');
    assert.equal(who.hop, null);
    c.send('hello');
    assert.deepEqual(await c.next(), ['hello', false]);
    c.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await c.next(), [Buffer.from([1, 2, 3]), true]);
    c.send('frag', { fin: false });
    c.send('ment', { fin: true });
    assert.deepEqual(await c.next(), ['fragment', false]);
    assert.deepEqual(await c.close(4000, 'done'), { code: 4000, reason: 'done' });
  });

  test('sockets are balanced over the members', async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const c = await WsTestClient.open(`${base}/chat/`);
      c.send('who');
      ports.add((JSON.parse(String((await c.next())[0])) as { port: number }).port);
      await c.close();
    }
    assert.equal(ports.size, 2);
  });

  test('a member that cannot be reached is skipped; with none left the handshake gets 502', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await WsTestClient.open(`${base}/fail/`);
      c.send('ok');
      assert.deepEqual(await c.next(), ['ok', false]);
      await c.close();
    }
    assert.equal(await refusedStatus(`${base}/gone/`), 502);
  });

  test("a member's refusal (an HTTP answer instead of 101) reaches the client", async () => {
    assert.equal(await refusedStatus(`${base}/chat/deny`), 403);
  });

  test('a member dropping its connections mid-session: the client sees its socket close, the server serves on', async () => {
    const c = await WsTestClient.open(`${base}/chat/`);
    c.send('who');
    const { port } = JSON.parse(String((await c.next())[0])) as { port: number };
    const member = port === Number(a.node.split(':')[1]) ? a : b;
    const other = member === a ? b : a;
    // Close this member's sockets only (the test keeps the listener for the other tests).
    for (const ws of member.sockets) ws.terminate();
    const closed = await c.closed();
    assert.equal(closed.code, 1006);
    const again = await WsTestClient.open(`${base}/chat/`);
    again.send('still here');
    assert.deepEqual(await again.next(), ['still here', false]);
    await again.close();
    assert.ok(other.node);
  });

  test('a member process killed (SIGKILL) mid-session: its clients see a close, the worker lives, new sockets go to the other member', async () => {
    const sockets = await Promise.all([1, 2, 3, 4].map(() => WsTestClient.open(`${base}/doomed/`)));
    for (const c of sockets) {
      c.send('ping');
      assert.deepEqual(await c.next(), ['ping', false]);
    }
    doomed.child.kill('SIGKILL');
    // Round robin put some of the four on the killed member: each of those sees its socket close.
    const closed = await Promise.any(sockets.map((c) => c.closed()));
    assert.equal(closed.code, 1006);
    for (let i = 0; i < 3; i++) {
      const c = await WsTestClient.open(`${base}/doomed/`);
      c.send(`after ${i}`);
      assert.deepEqual(await c.next(), [`after ${i}`, false]);
      await c.close();
    }
    for (const c of sockets) if (!c.closedWith) await c.close();
  });

  test('the client closing ends the member side', async () => {
    const before = a.closes.length + b.closes.length;
    const c = await WsTestClient.open(`${base}/chat/`);
    c.ws.terminate();
    await until(() => a.closes.length + b.closes.length > before, 10_000, 'the member to see the close');
  });

  test('backpressure: a client that does not read holds the member back instead of filling the proxy', async () => {
    const c = await WsTestClient.open(`${base}/flood/`);
    c.ws.pause();
    c.send('go');
    // 32 MiB sent by the member: most of it must still be queued at the member, not in the proxy.
    const ws = await until(() => [...flood.sockets][0], 10_000, 'the member socket');
    await until(() => ws.bufferedAmount > 8 * 1024 * 1024, 10_000, 'the member to be held back');
    c.ws.resume();
    let got = 0;
    while (got < 128) {
      await c.next();
      got++;
    }
    await c.close();
  });
});
