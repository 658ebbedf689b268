import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { echo, Members, type Member, type MemberHandler } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';
import { floodHandler } from '../support/targets.js';
import { until } from '../support/until.js';

// Real node:http members on 127.0.0.1:0 behind a real Skitai site: `/x = @x` for each cluster below.

const members = new Members();
// In a worker an error nobody listens for ends the process; here the runner would swallow it, so count them.
const uncaught: unknown[] = [];
process.on('uncaughtException', (err) => uncaught.push(err));
process.on('unhandledRejection', (err) => uncaught.push(err));

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reused: boolean;
}

function request(path: string, options: http.RequestOptions & { body?: Buffer | string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const { body, ...rest } = options;
    const req = http.request(`${site.base}${path}`, { agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.setTimeout(4000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

const json = (got: Got): Record<string, any> => JSON.parse(got.body.toString()) as Record<string, any>;

let site: TestSite;
let api: Member[];
let weighted: Member[];
let failover: Member[];
let resets: Member[];
let refusedOk: Member;
let slow: Member[];
let stream: Member;
const BIG = randomBytes(1024 * 1024);
let gate: () => void = () => undefined;
let floodClosed = false;
let memberSawClose: Promise<boolean>;
let sawClose: (finished: boolean) => void = () => undefined;

/** Holds the response for 5 s: far longer than the slow cluster's response_timeout, even on a loaded machine. */
const late: MemberHandler = (req, res) => {
  const t = setTimeout(() => res.end('late'), 5000);
  res.on('close', () => clearTimeout(t));
};

const streaming: MemberHandler = (req, res) => {
  switch (req.url) {
    case '/big':
      return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length }).end(BIG);
    case '/gzip':
      return void res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync('x'.repeat(5000)));
    case '/text':
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<p>' + 'y'.repeat(5000));
    case '/closing':
      return void res.writeHead(200, { connection: 'close' }).end('bye');
    case '/gated': {
      res.writeHead(200, { 'content-type': 'text/plain' }).write('first;');
      void new Promise<void>((resolve) => (gate = resolve)).then(() => res.end('second'));
      return;
    }
    case '/endless': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const t = setInterval(() => (++n > 100 ? res.end() : res.write(`tick ${n}\n`)), 20);
      return void res.on('close', () => {
        clearInterval(t);
        sawClose(res.writableFinished);
      });
    }
    case '/hold':
      return void res.on('close', () => sawClose(res.writableFinished));
    default:
      res.writeHead(404).end();
  }
};

before(async () => {
  const start = (h: MemberHandler): Promise<Member> => members.start(h);
  api = [await start(echo), await start(echo)];
  weighted = [await start(echo), await start(echo)];
  failover = [await start(echo), await start(echo), await start(echo)];
  resets = [await start((req) => req.socket.destroy()), await start((req) => req.socket.destroy())];
  refusedOk = await start(echo);
  slow = [await start(late), await start(late)];
  stream = await start(streaming);
  const bad999 = await start((req, res) => res.writeHead(999).end('odd'));
  const badLine = await start((req) => req.socket.end('HTTP/1.1 2x0 Nope\r\ncontent-length: 0\r\n\r\n'));
  const badReason = await start((req) => req.socket.end('HTTP/1.1 200 O\x7fK\r\ncontent-length: 2\r\n\r\nok', 'latin1'));
  const cut = await start((req, res) => {
    // Cut once the first bytes are out (not after a guessed delay): the proxy has the headers by then.
    res.writeHead(200, { 'content-length': 100 }).write('0123456789', () => req.socket.destroy());
  });
  const flood = await start(floodHandler(() => (floodClosed = true)));
  const dead = [await members.dead(), await members.dead()];
  const nodes = (ms: readonly Member[], weights: number[] = []): string => ms.map((m, i) => `${m.node}${weights[i] ? ` ${weights[i]}` : ''}`).join(', ');
  // cluster name (and route prefix) -> its section's lines
  const clusters: Record<string, string> = {
    api: `members = ${nodes(api)}`,
    weighted: `members = ${nodes(weighted, [3, 1])}`,
    failover: `members = ${nodes(failover)}`,
    resets: `members = ${nodes(resets)}`,
    refused: `members = ${dead[0]}, ${refusedOk.node}`,
    dead: `members = ${dead.join(', ')}`,
    breaker: `members = ${dead[1]}\nbreaker_min_requests = 2\nbreaker_cooldown = 30s`,
    slow: `members = ${nodes(slow)}\nresponse_timeout = 300ms`,
    bad999: `members = ${bad999.node}`,
    badline: `members = ${badLine.node}`,
    badreason: `members = ${badReason.node}`,
    stream: `members = ${stream.node}`,
    cut: `members = ${cut.node}`,
    flood: `members = ${flood.node}\nresponse_timeout = 300ms`,
  };
  const names = Object.keys(clusters);
  site = await startSite(
    `[server]\nmax_body_size = 64K\nmax_proxy_body_size = 2M\n\n[routes:line]\n${names.map((n) => `/${n} = @${n}`).join('\n')}\n\n` +
      names.map((n) => `[@${n}]\n${clusters[n]}\n`).join(''),
  );
});

after(async () => {
  await site?.close();
  await members.closeAll();
});

// A bound for a hang, not for speed: the suite takes 3 s when idle and several times that on a loaded machine.
describe('reverse proxy', { timeout: 60_000 }, () => {
  test('GET: prefix stripped, query kept, Host set to the member, X-Forwarded-* added, hop-by-hop headers dropped', async () => {
    const got = await request('/api/items/7?x=1&y=%20z', {
      headers: {
        connection: 'keep-alive, X-Hop-Secret',
        'x-hop-secret': 'a',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic eDp5',
        te: 'trailers',
        trailer: 'x-t',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        'x-forwarded-for': '10.0.0.9',
        'x-forwarded-proto': 'https',
        'x-custom': 'kept',
      },
    });
    assert.equal(got.status, 200);
    const seen = json(got);
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/items/7?x=1&y=%20z');
    const h = seen.headers as http.IncomingHttpHeaders;
    assert.ok(api.some((m) => h.host === m.node), `host ${h.host}`);
    assert.equal(h['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http', 'a client cannot claim https');
    assert.equal(h['x-forwarded-host'], `127.0.0.1:${site.port}`);
    assert.equal(h['x-custom'], 'kept');
    for (const hop of ['x-hop-secret', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade']) assert.equal(h[hop], undefined, hop);
    assert.doesNotMatch(String(h.connection), /secret/i);
  });

  test('the bare prefix is `/`; digits after the prefix do not pin a member (not a route at all)', async () => {
    assert.equal(json(await request('/api')).url, '/');
    assert.equal(json(await request('/api?q=1')).url, '/?q=1');
    assert.equal((await request('/api1/x')).status, 404);
  });

  test('POST: the body passes (also after Expect: 100-continue, which is not forwarded)', async () => {
    const got = await request('/api/form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
    assert.equal(got.status, 200);
    const seen = json(got);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, 'a=1&b=2');
    assert.equal(seen.headers['content-length'], '7');
    const expecting = await request('/api/form', { method: 'POST', headers: { expect: '100-continue' }, body: 'c=3' });
    assert.equal(expecting.status, 200);
    assert.equal(json(expecting).body, 'c=3');
    assert.equal(json(expecting).headers.expect, undefined);
  });

  test('response headers: hop-by-hop removed, the rest (Set-Cookie twice, status text) relayed', async () => {
    const m = await members.start((req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-member-hop', 'secret');
      res.setHeader('proxy-authenticate', 'Basic');
      res.setHeader('connection', 'keep-alive, X-Member-Hop');
      res.setHeader('keep-alive', 'timeout=1');
      res.writeHead(201, 'Made It').end('ok');
    });
    const s = await startSite(`[routes:line]\n/m = @m\n[@m]\nmembers = ${m.node}\n`);
    try {
      const got = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${s.base}/m/x`, { agent: false }, resolve).on('error', reject));
      got.resume();
      assert.equal(got.statusCode, 201);
      assert.equal(got.statusMessage, 'Made It');
      assert.deepEqual(got.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(got.headers['x-member-hop'], undefined);
      assert.equal(got.headers['proxy-authenticate'], undefined);
      assert.notEqual(got.headers['keep-alive'], 'timeout=1');
    } finally {
      await s.close();
    }
  });

  test('a 1 MiB response arrives intact; a 1 MiB upload over max_body_size streams to the member', async () => {
    const got = await request('/stream/big');
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-length'], String(BIG.length));
    assert.ok(got.body.equals(BIG));
    for (const chunked of [false, true]) {
      const up = await request('/api/upload', {
        method: 'PUT',
        headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': BIG.length },
        body: BIG,
      });
      assert.equal(up.status, 200);
      assert.ok(Buffer.from(json(up).body as string, 'latin1').equals(BIG), chunked ? 'chunked' : 'declared');
    }
  });

  test('a chunked response streams: the first chunk arrives before the member writes the second', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      http.get(`${site.base}/stream/gated`, { agent: false }, (res) => {
        let all = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          all += chunk;
          if (all === 'first;') gate();
        });
        res.on('end', () => resolve(all));
      }).on('error', reject);
    });
    assert.equal(text, 'first;second');
  });

  test('compressed bodies pass untouched; plain ones are not re-encoded', async () => {
    const gz = await request('/stream/gzip', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.body.equals(gzipSync('x'.repeat(5000))));
    const plain = await request('/stream/text', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), '<p>' + 'y'.repeat(5000));
  });

  test('HEAD passes through without a body', async () => {
    const got = await request('/stream/big', { method: 'HEAD' });
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-length'], String(BIG.length));
    assert.equal(got.body.length, 0);
  });

  test('weights spread traffic (3:1)', async () => {
    for (let i = 0; i < 40; i++) assert.equal((await request('/weighted/')).status, 200);
    assert.deepEqual(weighted.map((m) => m.hits), [30, 10]);
  });

  test('a killed member: no GET fails, the others take the traffic', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await request('/failover/')).status, 200);
    await failover[0]!.close();
    const before = failover.map((m) => m.hits);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await request('/failover/')).status);
    assert.deepEqual(statuses, Array(30).fill(200));
    assert.equal(failover[0]!.hits, before[0]);
    assert.ok(failover[1]!.hits - before[1]! >= 10 && failover[2]!.hits - before[2]! >= 10, 'both survivors serve');
  });

  test('a POST that reached a member is not retried; a GET is, once per other member', async () => {
    const post = await request('/resets/', { method: 'POST', body: 'x=1' });
    assert.equal(post.status, 502);
    assert.equal(resets[0]!.hits + resets[1]!.hits, 1);
    const get = await request('/resets/');
    assert.equal(get.status, 502);
    assert.equal(resets[0]!.hits + resets[1]!.hits, 3);
    // TRACE is idempotent (RFC 9110 §9.2.2) here as in was.lb: one rule, call/retry.ts.
    const trace = await request('/resets/', { method: 'TRACE' });
    assert.equal(trace.status, 502);
    assert.equal(resets[0]!.hits + resets[1]!.hits, 5, 'TRACE retried once on the other member');
  });

  test('a refused connection sends even a POST to another member', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await request('/refused/', { method: 'POST', body: `n=${i}` })).status, 200);
    assert.equal(refusedOk.hits, 4);
  });

  test('a dead cluster: 502', async () => {
    const got = await request('/dead/x');
    assert.equal(got.status, 502);
    assert.match(got.body.toString(), /SKT_PROXY_BAD_GATEWAY/);
  });

  test('an open circuit breaker: 503 with Retry-After, nothing sent', async () => {
    assert.equal((await request('/breaker/')).status, 502);
    assert.equal((await request('/breaker/')).status, 502);
    const got = await request('/breaker/');
    assert.equal(got.status, 503);
    assert.equal(got.headers['retry-after'], '30');
    assert.match(got.body.toString(), /SKT_PROXY_UNAVAILABLE/);
  });

  test('a client that stops reading is cut after response_timeout, freeing the member connection', async () => {
    const client = net.connect(site.port, '127.0.0.1');
    client.on('error', () => undefined);
    client.once('data', () => client.pause());
    client.write('GET /flood/ HTTP/1.1\r\nHost: x\r\n\r\n');
    try {
      await until(() => floodClosed, 10_000, 'the member response closed, not held for ever');
    } finally {
      client.destroy();
    }
  });

  test('a member slower than response_timeout: 504, not retried', async () => {
    const t0 = performance.now();
    const got = await request('/slow/');
    assert.equal(got.status, 504);
    // undici checks response_timeout on a ~0.5 s clock; the member would answer at 5 s.
    assert.ok(performance.now() - t0 < 4000, 'answered at the timeout, not when the member did');
    assert.equal(slow[0]!.hits + slow[1]!.hits, 1);
  });

  test('an invalid upstream status (999, a garbled status line, a reason Node cannot send): 502, and the worker keeps serving', async () => {
    const odd = await request('/bad999/');
    assert.equal(odd.status, 502);
    assert.match(odd.body.toString(), /SKT_PROXY_BAD_STATUS/);
    assert.equal((await request('/badline/')).status, 502);
    const reason = await request('/badreason/');
    assert.equal(reason.status, 502);
    assert.match(reason.body.toString(), /SKT_PROXY_BAD_GATEWAY/);
    assert.equal((await request('/api/still')).status, 200);
  });

  test('a member failing after the headers: the client connection is cut, never a second response', async () => {
    await assert.rejects(request('/cut/'), /aborted|socket hang up|ECONNRESET/);
    assert.equal((await request('/api/still')).status, 200);
  });

  test('the client leaving mid-stream aborts the upstream request', async () => {
    memberSawClose = new Promise((resolve) => (sawClose = resolve));
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${site.base}/stream/endless`, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.setTimeout(3000, () => reject(new Error('no data')));
    });
    const finished = await memberSawClose;
    assert.equal(finished, false, 'the member saw its response cut, not finished');
  });

  test('the client leaving before the answer aborts the upstream request', async () => {
    memberSawClose = new Promise((resolve) => (sawClose = resolve));
    const req = http.get(`${site.base}/stream/hold`, { agent: false });
    req.on('error', () => undefined);
    const hits = stream.hits;
    await until(() => stream.hits > hits, 10_000, 'the member to get the request');
    req.destroy();
    assert.equal(await memberSawClose, false);
  });

  test('Connection: close from the client closes the client connection only; member connections are reused', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await request('/api/ka', { agent });
      const b = await request('/api/ka', { agent });
      assert.equal(b.reused, true, 'client keep-alive');
      assert.equal(json(a).headers.connection, 'keep-alive');
      const closing = await request('/api/ka', { agent, headers: { connection: 'close' } });
      assert.equal(closing.headers.connection, 'close');
      assert.equal(json(closing).headers.connection, 'keep-alive', 'the member connection is ours to keep');
      const ports = new Set([a, b, closing].map((g) => `${json(g).port}`));
      assert.ok(ports.size <= api.length, 'member connections reused');
    } finally {
      agent.destroy();
    }
  });

  test('a route to a postgresql cluster is refused at start', async () => {
    await assert.rejects(
      startSite('[routes:line]\n/db = @mydb\n[@mydb]\ntype = postgresql\nmembers = 127.0.0.1:5432/db/u/p\n'),
      (err: Error & { code?: string }) => err.code === 'SKT_CONFIG_ROUTE' && /postgresql/.test(err.message),
    );
  });

  test('no error escaped as an uncaught exception or unhandled rejection', () => {
    assert.deepEqual(uncaught, []);
  });

  test('Connection: close from a member does not close the client connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await request('/stream/closing', { agent });
      assert.equal(a.body.toString(), 'bye');
      assert.notEqual(a.headers.connection, 'close');
      const b = await request('/stream/closing', { agent });
      assert.equal(b.status, 200);
      assert.equal(b.reused, true);
    } finally {
      agent.destroy();
    }
  });
});
