// was.tostream() with Skitai's "object with read() and optional close()" over real HTTP: content,
// close() at the end and on a client that leaves, backpressure, and a clear refusal of anything else.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/smtp.js';

const APP = `
import { App } from 'skitai';
export const app = new App();

// A file-like object, as the seed's was.tostream(open(...)): read(size) -> chunk, empty at the end.
const stats = { reads: 0, produced: 0, closes: 0, lastRead: 0 };
function source(total, { async = false, text = false } = {}) {
  let left = total;
  let n = 0;
  return {
    read(size) {
      stats.reads++;
      stats.lastRead = Date.now();
      const len = Math.min(size, left, 50_000);
      left -= len;
      stats.produced += len;
      const chunk = text ? String.fromCharCode(97 + (n++ % 26)).repeat(len) : Buffer.alloc(len, n++ % 256);
      const out = len === 0 ? (async ? undefined : (text ? '' : Buffer.alloc(0))) : chunk;
      return async ? new Promise((resolve) => setImmediate(() => resolve(out))) : out;
    },
    close() { stats.closes++; },
  };
}
app.route('/sync', (was, { size }) => was.tostream(source(Number(size))));
app.route('/async', (was, { size }) => was.tostream(source(Number(size), { async: true, text: true })));
app.route('/noclose', (was) => { let done = false; return was.tostream({ read: () => (done ? null : ((done = true), 'only')) }); });
app.route('/badchunk', (was) => { let n = 0; return was.tostream({ read: () => (n++ === 0 ? 'first' : 42), close() { stats.closes++; } }); });
app.route('/refuse', (was, { what }) => {
  const given = what === 'number' ? 42 : what === 'null' ? null : { size: 3, name: 'x' };
  try { was.tostream(given); return 'accepted'; } catch (err) { return { code: err.code, message: err.message }; }
});
app.route('/stats', () => ({ ...stats, idle: Date.now() - stats.lastRead }));
app.route('/reset', () => { Object.assign(stats, { reads: 0, produced: 0, closes: 0, lastRead: 0 }); return 'ok'; });
`;

let site: TestSite;
before(async () => {
  site = await startSite('[routes:line]\n/ = ./app\n', { 'app.ts': APP });
});
after(() => site?.close());

interface Stats { reads: number; produced: number; closes: number; idle: number }
const stats = async (): Promise<Stats> => (await (await fetch(`${site.base}/stats`)).json()) as Stats;
const reset = async (): Promise<void> => void (await (await fetch(`${site.base}/reset`)).text());

describe('was.tostream(an object with read() and close())', () => {
  test('a sync read(size) returning Buffers streams the whole content; close() is called once at the end', async () => {
    await reset();
    const res = await fetch(`${site.base}/sync?size=300000`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.length, 300_000);
    assert.deepEqual([body[0], body[50_000], body[299_999]], [0, 1, 5]);
    await until(async () => (await stats()).closes === 1, 5000, 'close() after the end');
  });

  test('a read() returning promises of strings, undefined at the end, streams too', async () => {
    await reset();
    const res = await fetch(`${site.base}/async?size=120000`);
    const text = await res.text();
    assert.equal(text.length, 120_000);
    assert.equal(text.slice(0, 3) + text.slice(50_000, 50_003) + text.slice(100_000, 100_003), 'aaabbbccc');
    await until(async () => (await stats()).closes === 1, 5000, 'close()');
    assert.equal(await (await fetch(`${site.base}/noclose`)).text(), 'only', 'close() is optional; null ends');
  });

  test('backpressure: a client that reads nothing stops the reads; when it reads, all arrives and close() is called', async () => {
    await reset();
    const total = 64 * 1024 * 1024;
    const socket = net.connect(site.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('GET /sync?size=' + total + ' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // The source stops being read once the socket buffers are full: read() goes quiet.
    await until(async () => {
      const s = await stats();
      return s.reads > 0 && s.idle > 300;
    }, 20_000, 'the reads to stop');
    const stalled = (await stats()).produced;
    assert.ok(stalled < total / 2, `read ${stalled} of ${total} bytes while the client read nothing`);
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    socket.resume();
    await ended;
    assert.ok(received > total, `received ${received}`);
    await until(async () => (await stats()).closes === 1, 5000, 'close() after the end');
  });

  test('a client that leaves mid-stream gets close() called', async () => {
    await reset();
    const ac = new AbortController();
    const res = await fetch(`${site.base}/sync?size=${64 * 1024 * 1024}`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await until(async () => (await stats()).closes === 1, 10_000, 'close() after the client left');
    const s = await stats();
    assert.ok(s.produced < 64 * 1024 * 1024, 'the source was not read to its end');
  });

  test('read() returning something that is not a chunk cuts the response, logs SKT_WAS_STREAM and closes', async () => {
    await reset();
    await assert.rejects(fetch(`${site.base}/badchunk`).then((r) => r.text()));
    await until(() => site.logLines.some((l) => l.includes('SKT_WAS_STREAM') || l.includes('returned number')), 5000, 'the log line');
    assert.ok(site.logLines.some((l) => /read\(\) of the object given to was\.tostream\(\) returned number/.test(l)), site.logLines.join('\n'));
    await until(async () => (await stats()).closes === 1, 5000, 'close()');
  });

  test('anything else is refused at the call with SKT_WAS_STREAM naming what was given', async () => {
    const get = async (what: string): Promise<{ code: string; message: string }> => (await (await fetch(`${site.base}/refuse?what=${what}`)).json()) as { code: string; message: string };
    assert.deepEqual(await get('object'), { code: 'SKT_WAS_STREAM', message: 'was.tostream() needs a stream, an iterable or an object with read(); got an object (keys size, name) without read() or an iterator' });
    assert.match((await get('number')).message, /got number$/);
    assert.match((await get('null')).message, /got null$/);
  });
});
