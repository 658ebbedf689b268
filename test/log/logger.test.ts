import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AccessLog, type AccessRecord } from '../../src/log/access.js';
import { Logger, openSink, type LogSink } from '../../src/log/logger.js';
import { childTraceparent, isValidRequestId, nextRequestId, traceOf } from '../../src/log/trace.js';

function memory(): { sink: LogSink; lines: string[] } {
  const lines: string[] = [];
  return { lines, sink: { write: (l) => void lines.push(l), reopen() {}, async close() {} } };
}

const RECORD: AccessRecord = {
  id: 'abc-1', remote: '10.0.0.7', port: 51234, method: 'GET', url: '/a?q="x"\\y\u0001é\ud800', version: '1.1',
  status: 200, bytes: 207, ms: 0.81234, aborted: false, ua: 'curl/8.5.0',
};

test("the JSON access line is pino's shape and survives quotes, backslashes, control characters and lone surrogates", () => {
  const { sink, lines } = memory();
  new AccessLog(sink, 'json').write(RECORD);
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rec).slice(0, 4), ['level', 'time', 'pid', 'hostname']);
  assert.equal(Object.keys(rec).at(-1), 'msg');
  assert.deepEqual({ ...rec, time: 0 }, {
    level: 30, time: 0, pid: process.pid, hostname: os.hostname(), reqId: 'abc-1', method: 'GET', url: RECORD.url,
    status: 200, bytes: 207, ms: 0.812, remote: '10.0.0.7', port: 51234, version: '1.1', aborted: false, ua: 'curl/8.5.0', msg: 'request',
  });
});

test('the access line carries the trace id after the request id, in JSON and in the text line', () => {
  const { sink, lines } = memory();
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const record = { ...RECORD, url: '/t', trace };
  new AccessLog(sink, 'json').write(record);
  new AccessLog(sink, 'skitai').write(record);
  new AccessLog(sink, 'skitai').write({ ...RECORD, url: '/t' });
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rec).slice(4, 7), ['reqId', 'traceId', 'method']);
  assert.equal(rec.traceId, trace);
  assert.match(lines[1]!, new RegExp(` GET /t HTTP/1\\.1 200 207 0\\.8ms abc-1 trace=${trace}$`));
  assert.match(lines[2]!, / GET \/t HTTP\/1\.1 200 207 0\.8ms abc-1$/);
});

test('JSON server log: levels filter, fields and child bindings go into the record, an error is one line', () => {
  const { sink, lines } = memory();
  const log = new Logger(sink, { format: 'json', level: 'info' });
  log.debug('hidden');
  log.info('shown', { a: 1 });
  const child = log.child({ reqId: 'r-1' });
  child.warn('careful');
  child.error('failed', new Error('bad\nthing'), { order: 7 });
  assert.equal(lines.length, 3);
  const [shown, careful, failed] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual([shown!.level, shown!.msg, shown!.a], [30, 'shown', 1]);
  assert.deepEqual([careful!.level, careful!.reqId], [40, 'r-1']);
  assert.equal(failed!.level, 50);
  assert.equal(failed!.order, 7);
  assert.equal((failed!.err as { message: string }).message, 'bad\nthing');
  assert.match((failed!.err as { stack: string }).stack, /^Error: bad\nthing\n\s+at /);
  for (const l of lines) assert.ok(!l.includes('\n'));
  assert.equal(log.enabled('debug'), false);
  assert.equal(new Logger(sink, { format: 'json', level: 'warn' }).enabled('info'), false);
});

test('text server log: classic lines, bound fields after the message', () => {
  const { sink, lines } = memory();
  const log = new Logger(sink, { format: 'text', level: 'info' }).child({ reqId: 'r-2' });
  log.info('paid', { order: 7, note: 'two words' });
  assert.match(lines[0]!, /^\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d \[info\] paid reqId=r-2 order=7 note="two words"$/);
});

test('request ids: prefix and counter, unique; a kept id must be short and plain', () => {
  const a = nextRequestId();
  const b = nextRequestId();
  assert.notEqual(a, b);
  assert.equal(a.split('-')[0], b.split('-')[0]);
  assert.match(a, /^[0-9a-z]{10}-[0-9a-z]+$/);
  assert.ok(isValidRequestId('edge-42.a:b=c+d/e_f'));
  for (const bad of ['', 'a b', 'x*/', 'a\nb', 'x'.repeat(129), 'é']) assert.equal(isValidRequestId(bad), false, bad);
});

test('traceparent: a valid header keeps trace id and flags; an invalid one starts a new trace', () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const kept = childTraceparent(traceOf(`00-${trace}-00f067aa0ba902b7-01`));
  assert.match(kept, new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
  assert.notEqual(kept, childTraceparent(traceOf(`00-${trace}-00f067aa0ba902b7-01`)), 'a new span id per hop');
  for (const bad of [undefined, 'junk', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `ff-${trace}-00f067aa0ba902b7-01`, `00-${trace}-00f067aa0ba902b7-01-extra`]) {
    const made = childTraceparent(traceOf(bad));
    assert.match(made, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.ok(!made.includes(trace), String(bad));
  }
  // A later version may append fields: the trace is kept.
  assert.ok(childTraceparent(traceOf(`01-${trace}-00f067aa0ba902b7-01-more`)).includes(trace));
});

test('a log file gets every line whole and in order: across batches, non-ASCII, and a line longer than a batch', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-sink-'));
  try {
    const file = path.join(dir, 'access.log');
    const sink = openSink({ file }, 50);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`line ${i} ${'x'.repeat(i % 97)} é✓😀`);
    lines.splice(1500, 0, 'L'.repeat(100_000));
    for (const l of lines) sink.write(l);
    await sink.close();
    assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n'), [...lines, '']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a log file that cannot be written (a full disk: /dev/full) loses the batch, says so once on stderr, and does not throw', async () => {
  const said: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => said.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const sink = openSink({ file: '/dev/full' }, 50);
    for (let i = 0; i < 2000; i++) sink.write(`line ${i} ${'x'.repeat(80)}`);
    await sink.close();
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(said, ['skitai: cannot write /dev/full: ENOSPC: no space left on device, write\n']);
});

test('a log file that cannot be opened (here a directory) does not stop the server: said once on stderr, lines dropped', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-sink-'));
  const said: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => said.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const sink = openSink({ file: dir }, 50);
    sink.write('a line');
    sink.reopen();
    await sink.close();
  } finally {
    process.stderr.write = write;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(said, [`skitai: cannot write ${dir}: EISDIR: illegal operation on a directory, open '${dir}'\n`]);
});
