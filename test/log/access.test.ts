import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AccessConnection, AccessLog, redactTarget, type AccessRecord } from '../../src/log/access.js';
import { openSink, type LogSink } from '../../src/log/logger.js';
import { requestIdOf } from '../../src/log/trace.js';

/**
 * The line as JSON.stringify writes it with the access line's key order (pino's for these fields):
 * what the access log promises, byte for byte (`id`, `method`, `remote`, `version` are plain in every record here, so escaping them or
 * not makes no difference).
 */
function expected(r: AccessRecord, time: number): string {
  return (
    JSON.stringify({
      level: 30, time, pid: process.pid, hostname: os.hostname(), reqId: r.id, traceId: r.trace, method: r.method, url: redactTarget(r.url),
      status: r.status, bytes: r.bytes, remote: r.remote, port: r.port, version: r.version, aborted: r.aborted, ua: r.ua, up: r.up,
      ms: Math.round(r.ms * 1000) / 1000, msg: 'request',
    }) + '\n'
  );
}

const BASE: AccessRecord = {
  id: '0linc0431o-2a', remote: '127.0.0.1', port: 51234, method: 'GET', url: '/hello?page=2', version: '1.1',
  status: 200, bytes: 207, ms: 0.41234, aborted: false, ua: 'curl/8.5.0',
};

/** One assertion per line: a difference shows that line, not a diff of thousands. */
function sameLines(actual: string[], wanted: string[]): void {
  assert.equal(actual.length, wanted.length);
  actual.forEach((line, i) => assert.equal(line, wanted[i], `line ${i}`));
}

/** Every kind of field the line writes by hand, and the values where a hand-written number could differ from `${n}`. */
function records(): AccessRecord[] {
  const out: AccessRecord[] = [BASE, { ...BASE, ua: undefined }, { ...BASE, aborted: true, status: 0 }];
  out.push({ ...BASE, trace: '4bf92f3577b34da6a3ce929d0e0e4736' }, { ...BASE, method: 'CONNECT', url: 'example.com:443', up: 1234, bytes: 56789 });
  for (const url of ['/a?q="x"\\y', '/tab\there', '/nl\n', '/é/✓/😀', '/lone\ud800', '/del\u007f', 'http://user:pw@host/x', 'user:pw@host:443', ''])
    out.push({ ...BASE, url });
  for (const ua of ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'ü "q"', '\u0000', ''])
    out.push({ ...BASE, ua });
  for (const ms of [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.1005, 1.5, 2, 9.999, 12.3456, 1234567.891, 2147483.647, 2147483.648, 3e9, 1e21, -0.0001, -5])
    out.push({ ...BASE, ms });
  for (const n of [0, 1, 9, 10, 99, 100, 101, 65535, 2147483647, 2147483648, 2 ** 53, 1.5, -1, -0])
    out.push({ ...BASE, bytes: n, port: n, status: n });
  return out;
}

function fileLog(): { log: AccessLog; sink: LogSink; file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-access-'));
  const file = path.join(dir, 'access.log');
  const sink = openSink({ file }, 50);
  return { log: new AccessLog(sink, 'json'), sink, file, dir };
}

/** Each step's writes at its own faked `Date.now()`, a turn each; then the file's lines. */
async function writeAt(log: AccessLog, file: string, steps: [number, () => void][]): Promise<string[]> {
  const now = Date.now;
  try {
    for (const [t, write] of steps) {
      Date.now = () => t;
      write();
      // The clock is read once per batch of lines, when the turn's lines are written.
      log.flush();
    }
  } finally {
    Date.now = now;
  }
  await log.close();
  return fs.readFileSync(file, 'utf8').split(/(?<=\n)/);
}

const timeOf = (line: string): number => Number(/^\{"level":30,"time":(-?\d+),/.exec(line)![1]);

test('the JSON line written as bytes into the file is JSON.stringify with pino key order, byte for byte, whatever the fields hold', async () => {
  const { log, file, dir } = fileLog();
  try {
    const recs = records();
    const from = Date.now();
    for (const r of recs) log.write(r);
    await log.close();
    const to = Date.now();
    const lines = fs.readFileSync(file, 'utf8').split(/(?<=\n)/);
    assert.equal(lines.length, recs.length);
    lines.forEach((line, i) => {
      const time = timeOf(line);
      assert.ok(time >= from && time <= to, line);
      assert.equal(line, expected(recs[i]!, time));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the time field follows the clock across seconds, backwards and at the edges', async () => {
  const { log, file, dir } = fileLog();
  const clock = [1765012345678, 1765012345999, 1765012346000, 1765012346001, 1765012346999, 1765012345000, 1765012347005, 1000, 999, 0, -5, 1765012347005];
  try {
    const turn = (t: number) => (): void => {
      log.write(BASE);
      log.write({ ...BASE, id: requestIdOf(t >>> 0), seq: t >>> 0 });
    };
    const lines = await writeAt(log, file, clock.map((t) => [t, turn(t)]));
    sameLines(lines, clock.flatMap((t) => [expected(BASE, t), expected({ ...BASE, id: requestIdOf(t >>> 0) }, t)]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('thousands of lines across batches, and one far longer than a batch, reach the file whole and in order', async () => {
  const { log, file, dir } = fileLog();
  try {
    const recs: AccessRecord[] = [];
    for (let i = 0; i < 3000; i++) recs.push({ ...BASE, id: `0linc0431o-${i.toString(36)}`, url: `/p/${'x'.repeat(i % 300)}é`, ms: i / 7 });
    recs.splice(1500, 0, { ...BASE, url: `/${'L'.repeat(100_000)}` }, { ...BASE, ua: '"'.repeat(20_000) });
    const times: number[] = [];
    for (const r of recs) log.write(r);
    await log.close();
    const lines = fs.readFileSync(file, 'utf8').split(/(?<=\n)/);
    for (const line of lines) times.push(timeOf(line));
    sameLines(lines, recs.map((r, i) => expected(r, times[i]!)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("what the line reuses (the generated id, the method, the status, a connection's template) gives the bytes of every field written out", async () => {
  const { log, file, dir } = fileLog();
  try {
    const conn = new AccessConnection();
    const other = new AccessConnection();
    const recs: AccessRecord[] = [];
    // Each field of the connection's template changes, alone, and changes back.
    const changes: Partial<AccessRecord>[] = [
      {}, {}, { remote: '10.0.0.2' }, {}, { port: 40001 }, {}, { version: '1.0' }, {}, { aborted: true }, {}, { ua: undefined }, {}, { ua: 'curl/8.6.0' },
      { ua: 'é "q"' }, {}, { up: 17 }, {}, { ua: 'x'.repeat(5000) }, {}, { remote: 'fe80::1%eth0' }, {},
      { url: '/other' }, { url: '/other' }, {}, { url: '/q?s="é"' }, { url: '/q?s="é"' }, { url: 'http://u:pw@h/x' }, { url: 'http://u:pw@h/x' },
      { url: `/${'y'.repeat(600)}` }, { url: `/${'y'.repeat(600)}` }, {}, { method: 'POST' }, {}, { status: 404 }, { status: 404 }, {},
    ];
    for (const change of changes) recs.push({ ...BASE, conn, ...change }, { ...BASE, conn: other, port: 50000, ...change });
    // Generated ids, written from their counter.
    for (const seq of [1, 9, 35, 36, 1295, 1296, 46655, 2147483647, 2147483648, 2 ** 40]) recs.push({ ...BASE, conn, id: requestIdOf(seq), seq });
    // Methods and statuses seen again, and more methods than are kept.
    for (let i = 0; i < 40; i++) recs.push({ ...BASE, conn, method: ['GET', 'POST', `M${i}`][i % 3]!, status: [200, 404, 200, 1000, 99.5, 0][i % 6]! });
    for (const r of records()) recs.push({ ...r, conn });
    const from = Date.now();
    for (const r of recs) log.write(r);
    await log.close();
    const to = Date.now();
    const lines = fs.readFileSync(file, 'utf8').split(/(?<=\n)/);
    const times = lines.map(timeOf);
    assert.ok(times.every((t) => t >= from && t <= to));
    sameLines(lines, recs.map((r, i) => expected(r, times[i]!)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a connection's line is its template while the fields repeat, with the time, id, trace id and bytes written over it; any other change writes it out", async () => {
  const { log, file, dir } = fileLog();
  const conn = new AccessConnection();
  const gen = (seq: number, more: Partial<AccessRecord> = {}): AccessRecord => ({ ...BASE, conn, id: requestIdOf(seq), seq, ...more });
  const T1 = '4bf92f3577b34da6a3ce929d0e0e4736';
  const T2 = '00f067aa0ba902b7a3ce929d0e0e4736';
  // [clock, record, whether the line comes from the template]: the template is marked before each
  // line (`"level":40`), so a line shows which way it was made.
  const steps: [number, AccessRecord, boolean][] = [
    [1765012345678, gen(100), false], // a connection's first line makes no template
    [1765012345678, gen(101), false],
    [1765012345679, gen(102, { ms: 12.5 }), true],
    [1765012346001, gen(103, { bytes: 208 }), true], // the next second; other bytes of the same length
    [1765012346001, gen(104, { bytes: 2070 }), false],
    [1765012346002, gen(105, { bytes: 2071 }), true],
    [1765012346002, gen(1295, { bytes: 2071 }), true],
    [1765012346003, gen(1296, { bytes: 2071 }), false], // one more digit in the id
    [1765012346003, gen(1297, { bytes: 2071, trace: T1 }), false],
    [1765012346003, gen(1298, { bytes: 2071, trace: T2 }), true],
    [1765012346003, gen(1299, { bytes: 2071 }), false],
    [1765012346004, { ...BASE, conn }, false], // an id from a trusted proxy
    [1765012346004, { ...BASE, conn, id: '0linc0431o-2b' }, true],
    [1765012346004, { ...BASE, conn, id: '0linc0431o-2' }, false],
    [1765012346004, { ...BASE, conn, id: '0linc0431o-2' }, true],
    ...(
      [
        { url: '/other' }, { method: 'POST' }, { status: 404 }, { remote: '10.0.0.2' }, { port: 40001 }, { version: '1.0' }, { aborted: true },
        { ua: 'curl/8.6.0' }, { ua: undefined }, { up: 17 },
      ] as Partial<AccessRecord>[]
    ).flatMap((change): [number, AccessRecord, boolean][] => [
      [1765012346005, { ...BASE, conn, id: '0linc0431o-2', ...change }, false],
      // A tunnel's line (`up`) is its connection's last, and makes no template: the one before stays.
      [1765012346005, { ...BASE, conn, id: '0linc0431o-2' }, change.up !== undefined],
      [1765012346006, { ...BASE, conn, id: '0linc0431o-2' }, true],
    ]),
    [999, { ...BASE, conn, id: '0linc0431o-2' }, false], // a clock without 13 digits
    [1765012346007, { ...BASE, conn, id: '0linc0431o-2' }, true],
  ];
  try {
    const turn = (r: AccessRecord) => (): void => {
      if (conn.tpl) conn.tpl[9] = 0x34;
      log.write(r);
    };
    const lines = await writeAt(log, file, steps.map(([t, r]) => [t, turn(r)]));
    sameLines(lines, steps.map(([t, r, fromTemplate]) => (fromTemplate ? expected(r, t).replace('"level":30', '"level":40') : expected(r, t))));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a sink without a batch of its own (the console, a test sink) gets the same line as a string', () => {
  const lines: string[] = [];
  const log = new AccessLog({ write: (l) => void lines.push(l), reopen() {}, async close() {} }, 'json');
  const raw: string[] = [];
  const rawLog = new AccessLog({ write() {}, writeRaw: (c) => void raw.push(c), reopen() {}, async close() {} }, 'json');
  const recs = records();
  for (const r of recs) {
    log.write(r);
    rawLog.write(r);
  }
  log.write({ ...BASE, url: `/${'L'.repeat(100_000)}` });
  recs.push({ ...BASE, url: `/${'L'.repeat(100_000)}` });
  sameLines(lines.map((l) => l + '\n'), recs.map((r, i) => expected(r, timeOf(lines[i]!))));
  sameLines(raw, recs.slice(0, -1).map((r, i) => expected(r, timeOf(raw[i]!))));
});

test("a file's JSON lines wait for the end of the event-loop turn; reopen() and close() write the waiting ones first, to the right file", async () => {
  const { log, file, dir } = fileLog();
  try {
    log.write({ ...BASE, id: 'turn-1' });
    log.write({ ...BASE, id: 'turn-2' });
    // Formatted at the end of the turn, then on the sink's 50 ms timer: nothing is in the file yet.
    assert.equal(fs.readFileSync(file, 'utf8'), '');
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).reqId), ['turn-1', 'turn-2']);
    // A rotation between a response and the end of its turn: the line belongs to the old file.
    log.write({ ...BASE, id: 'before-rotation' });
    fs.renameSync(file, `${file}.1`);
    log.reopen();
    log.write({ ...BASE, id: 'after-rotation' });
    await log.close();
    const ids = (f: string): string[] => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).reqId);
    assert.deepEqual(ids(`${file}.1`), ['turn-1', 'turn-2', 'before-rotation']);
    assert.deepEqual(ids(file), ['after-rotation']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
