// h2 abuse: each limit against a client that breaks it on purpose, with raw frames over cleartext h2
// (h2c: the same nghttp2 session code as over TLS, without a TLS client in the test).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FRAME, frame, GET_ROOT, h2Connect, h2Request, PREFACE, readFrames } from '../support/h2.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const run = promisify(execFile);

const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/hi', () => 'hi');
// Never answered: a stream that stays open.
app.route('/', () => { (globalThis as any).openStreams = ((globalThis as any).openStreams ?? 0) + 1; return new Promise(() => {}); });
`;

let s: TestSite;
before(async () => {
  s = await startSite('[server]\nhttp2 = h2c\nkeep_alive = 1\nh2_max_concurrent_streams = 2\n[routes:line]\n/ = ./app\n', { 'app.ts': APP });
});
after(() => s.site.close(0).then(() => s.close()));

interface Outcome {
  frames: ReturnType<typeof readFrames>;
  /** The GOAWAY error code, if the server sent one. */
  goaway: number | undefined;
}

/**
 * Open a raw h2c connection, send the preface and `attack`, and collect what the server sends until
 * `done` says enough or the server closes. With `stall`, nothing is read until the attack is written
 * (a client that sends without reading, which is what makes a flood of PINGs or SETTINGS cost memory).
 */
async function raw(attack: Buffer, stall: boolean, done: (o: Outcome, closed: boolean) => boolean): Promise<Outcome> {
  const sock = net.connect(s.port, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  const got: Buffer[] = [];
  let closed = false;
  if (stall) sock.pause();
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('error', () => undefined);
  sock.on('close', () => (closed = true));
  sock.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), attack]), () => sock.resume());
  const outcome = (): Outcome => {
    const frames = readFrames(Buffer.concat(got));
    const ga = frames.find((f) => f.type === FRAME.GOAWAY);
    return { frames, goaway: ga?.payload.readUInt32BE(4) };
  };
  try {
    return await until(() => (done(outcome(), closed) ? outcome() : undefined), 10_000, 'the server to answer the attack');
  } finally {
    sock.destroy();
  }
}

async function stillServes(): Promise<void> {
  const session = await h2Connect(s.base);
  try {
    assert.equal((await h2Request(session, '/hi')).body.toString(), 'hi');
  } finally {
    session.close();
  }
}

const g = globalThis as { openStreams?: number };

describe('h2 limits', () => {
  test('h2_max_concurrent_streams: the stream over the limit is refused (RST_STREAM REFUSED_STREAM)', async () => {
    g.openStreams = 0;
    const o = await raw(Buffer.concat([1, 3, 5].map((id) => frame(FRAME.HEADERS, 5, id, GET_ROOT))), false, (o) =>
      o.frames.some((f) => f.type === FRAME.RST_STREAM && f.stream === 5));
    const rst = o.frames.find((f) => f.type === FRAME.RST_STREAM)!;
    assert.equal(rst.payload.readUInt32BE(0), 7, 'REFUSED_STREAM');
    await until(() => g.openStreams === 2, 5000, 'the two allowed streams reached the app');
    assert.equal(g.openStreams, 2);
  });

  test('max_header_size bounds the h2 header list: 431', async () => {
    const big = async (n: number): Promise<string> =>
      (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--http2-prior-knowledge', '-H', `x-big: ${'a'.repeat(n)}`, `${s.base}/hi`], { encoding: 'utf8' })).stdout;
    assert.equal(await big(20_000), '431');
    assert.equal(await big(8_000), '200');
  });

  test('rapid reset (CVE-2023-44487): HEADERS + RST_STREAM in a loop ends the session', async () => {
    const before = s.site.engine.traffic().requests.total;
    const pairs: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = 1 + 2 * i;
      pairs.push(frame(FRAME.HEADERS, 5, id, GET_ROOT), frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
    }
    const o = await raw(Buffer.concat(pairs), false, (_o, closed) => closed);
    assert.ok(o.goaway !== undefined && o.goaway !== 0, `GOAWAY with an error, got ${o.goaway}`);
    const served = s.site.engine.traffic().requests.total - before;
    assert.ok(served < 5000, `the session was cut before all 5000 streams were dispatched (${served})`);
    await stillServes();
  });

  for (const [name, type, payload] of [['ping', FRAME.PING, Buffer.alloc(8)], ['settings', FRAME.SETTINGS, Buffer.alloc(0)]] as const) {
    test(`${name} flood from a client that does not read: GOAWAY and close`, async () => {
      const flood = Buffer.concat(Array.from({ length: 100_000 }, () => frame(type, 0, 0, payload)));
      const o = await raw(flood, true, (_o, closed) => closed);
      assert.ok(o.goaway !== undefined && o.goaway !== 0, `GOAWAY with an error, got ${o.goaway}`);
      await stillServes();
    });
  }

  test('CONNECT over h2 is answered 501, and the worker lives on', async () => {
    const session = await h2Connect(s.base);
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': '127.0.0.1:9' });
      const status = await new Promise((resolve, reject) => {
        stream.on('response', (h) => resolve(h[':status']));
        stream.on('error', reject);
      });
      assert.equal(status, 501);
      stream.close();
    } finally {
      session.close();
    }
    await stillServes();
  });

  test('idle timeout (keep_alive): an idle session gets GOAWAY (NO_ERROR) and is closed', async () => {
    const session = await h2Connect(s.base);
    let goaway: number | undefined;
    session.on('goaway', (code: number) => (goaway = code));
    assert.equal((await h2Request(session, '/hi')).status, 200);
    await until(() => session.closed || session.destroyed, 10_000, 'the idle session closed by the server');
    assert.equal(goaway, 0);
  });

  test('idle timeout: a session whose bytes keep moving stays open; it is closed no sooner than keep_alive after its last byte', async () => {
    const session = await h2Connect(s.base);
    let goaway: number | undefined;
    let goawayAt = 0;
    session.on('goaway', (code: number) => {
      goaway = code;
      goawayAt = performance.now();
    });
    // A request every 300 ms for twice keep_alive (1 s): the traffic itself, not a wait on the server.
    const until2s = performance.now() + 2000;
    let last = 0;
    while (performance.now() < until2s) {
      assert.equal((await h2Request(session, '/hi')).status, 200);
      last = performance.now();
      assert.equal(goaway, undefined, 'GOAWAY on a session in use');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await until(() => session.closed || session.destroyed, 10_000, 'the session closed once idle');
    assert.equal(goaway, 0);
    // `last` is when the client had the last answer, a little after the server's last byte.
    assert.ok(goawayAt - last >= 950, `GOAWAY ${Math.round(goawayAt - last)} ms after the last answer, before keep_alive`);
  });
});
