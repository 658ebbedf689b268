import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { echo, Members, type Member } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

// Structured logs and request ids end to end: a site whose server log is JSON (collected in
// logLines) and whose access log is a JSON file, with a real member on 127.0.0.1 reached through
// was.lb and through the reverse proxy.
const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/hello', () => 'Hello');
app.route('/paid', (was) => {
  was.log.info('paid', { order: 7 });
  return was.request.id;
});
app.route('/boom', () => {
  throw new Error('kaboom');
});
app.route('/raw', (was) => {
  was.response.raw.writeHead(200, ['Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'set-cookie', 'b=2']).end('raw');
});
app.route('/call', async (was) => {
  const r = await was.lb('@m/seen', 'GET').getwait(2);
  return r.data;
});
`;

type Json = Record<string, unknown>;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING = `00-${TRACE}-00f067aa0ba902b7-01`;

const members = new Members();
let member: Member;
let site: TestSite;
let trusting: TestSite;

before(async () => {
  member = await members.start(echo);
  const conf = (extra: string): string =>
    `[server]\n${extra}\n[routes:line]\n/ = ./app\n/api = @m\n\n[@m]\nmembers = ${member.node}\n`;
  site = await startSite(conf('access_log = access.json\naccess_log_format = json'), { 'app.ts': APP }, { logFormat: 'json' });
  trusting = await startSite(conf('trusted_proxies = 127.0.0.1'), { 'app.ts': APP }, { logFormat: 'json' });
});

after(async () => {
  await site?.close();
  await trusting?.close();
  await members.closeAll();
});

function accessLines(): Json[] {
  const file = path.join(site.dir, 'access.json');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
}

function serverRecords(s: TestSite): Json[] {
  return s.logLines.map((l) => JSON.parse(l) as Json);
}

describe('request ids in the access log', () => {
  test('one JSON line per request in pino shape, its reqId equal to the X-Request-Id response header', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${site.base}/hello?n=${i}`, { headers: { 'user-agent': 'log-test/1' } });
      assert.equal(await res.text(), 'Hello');
      ids.push(res.headers.get('x-request-id')!);
    }
    assert.equal(new Set(ids).size, 3, `three different ids: ${ids.join(' ')}`);
    await until(() => ids.every((id) => accessLines().some((l) => l.reqId === id)), 5000, 'access lines');
    for (const [i, id] of ids.entries()) {
      const line = accessLines().find((l) => l.reqId === id)!;
      assert.equal(line.url, `/hello?n=${i}`);
      assert.equal(line.level, 30);
      assert.equal(line.msg, 'request');
      assert.equal(line.method, 'GET');
      assert.equal(line.status, 200);
      assert.equal(line.remote, '127.0.0.1');
      assert.equal(line.ua, 'log-test/1');
      assert.equal(line.pid, process.pid);
      assert.equal(typeof line.hostname, 'string');
      assert.ok(Math.abs((line.time as number) - Date.now()) < 60_000, 'time is epoch milliseconds');
      assert.ok((line.bytes as number) > 5 && typeof line.ms === 'number');
    }
  });

  test("an untrusted client's X-Request-Id is replaced; a trusted proxy's is kept unless malformed", async () => {
    const forged = await fetch(`${site.base}/hello`, { headers: { 'x-request-id': 'forged-1' } });
    await forged.text();
    assert.notEqual(forged.headers.get('x-request-id'), 'forged-1');
    assert.match(forged.headers.get('x-request-id')!, /^[0-9a-z]{10}-[0-9a-z]+$/);

    const kept = await fetch(`${trusting.base}/paid`, { headers: { 'x-request-id': 'edge-42.a' } });
    assert.equal(kept.headers.get('x-request-id'), 'edge-42.a');
    assert.equal(await kept.text(), 'edge-42.a', 'was.request.id');

    const bad = await fetch(`${trusting.base}/hello`, { headers: { 'x-request-id': 'x */ DROP TABLE t; --' } });
    await bad.text();
    assert.match(bad.headers.get('x-request-id')!, /^[0-9a-z]{10}-[0-9a-z]+$/);
  });

  test('a head written by the app from a flat list keeps every repeated header beside the id (Node 20 drops them once a header is set)', async () => {
    const res = await fetch(`${site.base}/raw`);
    assert.equal(await res.text(), 'raw');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.match(res.headers.get('x-request-id')!, /^[0-9a-z]{10}-[0-9a-z]+$/);
  });

  test("the trace id: the incoming traceparent's, the one started for an outgoing call, none otherwise", async () => {
    const traced = await fetch(`${site.base}/hello`, { headers: { traceparent: INCOMING } });
    await traced.text();
    const bad = await fetch(`${site.base}/hello`, { headers: { traceparent: '00-not-a-trace' } });
    await bad.text();
    const plain = await fetch(`${site.base}/hello`);
    await plain.text();
    const started = await fetch(`${site.base}/call`);
    const sent = ((await started.json()) as { headers: Record<string, string> }).headers.traceparent!;
    const ids = [traced, bad, plain, started].map((r) => r.headers.get('x-request-id'));
    await until(() => ids.every((id) => accessLines().some((l) => l.reqId === id)), 5000, 'access lines');
    const line = (i: number): Json => accessLines().find((l) => l.reqId === ids[i])!;
    assert.equal(line(0).traceId, TRACE);
    assert.equal(line(1).traceId, undefined, 'an invalid traceparent starts no trace');
    assert.equal(line(2).traceId, undefined);
    assert.equal(line(3).traceId, sent.split('-')[1], 'the trace the member was told about');
    assert.deepEqual(Object.keys(line(0)).slice(0, 6), ['level', 'time', 'pid', 'hostname', 'reqId', 'traceId']);
  });

  test('error pages and 404s carry the id too', async () => {
    const res = await fetch(`${site.base}/nothing-here`);
    await res.text();
    assert.equal(res.status, 404);
    assert.ok(res.headers.get('x-request-id'));
  });
});

describe('the server log', () => {
  test('was.log records carry the reqId of their request', async () => {
    const res = await fetch(`${site.base}/paid`);
    const id = await res.text();
    assert.equal(id, res.headers.get('x-request-id'));
    const rec = serverRecords(site).find((r) => r.msg === 'paid' && r.reqId === id);
    assert.ok(rec, `a was.log record with reqId ${id}:\n${site.logLines.join('\n')}`);
    assert.equal(rec.level, 30);
    assert.equal(rec.order, 7);
  });

  test("an app error is one JSON record with its stack and the request's id", async () => {
    const res = await fetch(`${site.base}/boom`);
    await res.text();
    assert.equal(res.status, 500);
    const id = res.headers.get('x-request-id');
    const lines = site.logLines.filter((l) => l.includes('kaboom'));
    assert.equal(lines.length, 1, lines.join('\n---\n'));
    assert.ok(!lines[0]!.includes('\n'), 'no line break inside the record');
    const rec = JSON.parse(lines[0]!) as Json & { err: { type: string; message: string; stack: string } };
    assert.equal(rec.level, 50);
    assert.equal(rec.reqId, id);
    assert.equal(rec.msg, 'GET /boom failed');
    assert.equal(rec.err.message, 'kaboom');
    assert.match(rec.err.stack, /^Error: kaboom\n\s+at .*app\.ts/);
  });
});

describe('the id and the trace reach the members', () => {
  test('through was.lb: X-Request-Id, and traceparent with the trace id kept and a new span id', async () => {
    const res = await fetch(`${site.base}/call`, { headers: { traceparent: INCOMING } });
    const seen = (await res.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-request-id'], res.headers.get('x-request-id'));
    const [version, trace, span, flags] = seen.headers.traceparent!.split('-');
    assert.deepEqual([version, trace, flags], ['00', TRACE, '01']);
    assert.match(span!, /^[0-9a-f]{16}$/);
    assert.notEqual(span, '00f067aa0ba902b7');
  });

  test('through was.lb without an incoming trace: a new one is started', async () => {
    const seen = (await (await fetch(`${site.base}/call`)).json()) as { headers: Record<string, string> };
    assert.match(seen.headers.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.ok(!seen.headers.traceparent!.includes(TRACE));
  });

  test("through the reverse proxy: our id replaces an untrusted client's, the trace id is kept", async () => {
    const res = await fetch(`${site.base}/api/seen`, { headers: { traceparent: INCOMING, 'x-request-id': 'forged-2' } });
    const seen = (await res.json()) as { headers: Record<string, string> };
    const id = res.headers.get('x-request-id');
    assert.notEqual(id, 'forged-2');
    assert.equal(seen.headers['x-request-id'], id);
    const [, trace, span] = seen.headers.traceparent!.split('-');
    assert.equal(trace, TRACE);
    assert.notEqual(span, '00f067aa0ba902b7');
    await until(() => accessLines().some((l) => l.reqId === id && l.url === '/api/seen'), 5000, 'the proxied request in the access log');
  });

  test("through the reverse proxy from a trusted proxy: the incoming id goes on", async () => {
    const res = await fetch(`${trusting.base}/api/seen`, { headers: { 'x-request-id': 'edge-43' } });
    const seen = (await res.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-request-id'], 'edge-43');
    assert.equal(res.headers.get('x-request-id'), 'edge-43');
  });
});
