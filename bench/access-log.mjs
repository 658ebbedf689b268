// What one access-log line costs, in CPU time per request, in one process: Skitai's text line and
// the JSON line (pino's shape) written to a real file, against writing nothing; and the JSON line of
// requests on kept-alive connections (each connection's template, docs/logging.md). CPU time (user + sys of the
// whole process, the libuv threads doing the file writes included) hardly moves when other
// processes steal time, so this gives a usable number on a shared machine where wrk runs do not.
// Run under tsx (it imports src/log):
//   node --import tsx bench/access-log.mjs [--lines 200000] [--rounds 5]
// (see bench/README.md, "Access log")
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AccessConnection, AccessLog } from '../src/log/access.ts';
import { openSink } from '../src/log/logger.ts';
import { requestIdOf } from '../src/log/trace.ts';

const { values: opt } = parseArgs({ options: { lines: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } } });
const lines = Number(opt.lines);
const rounds = Number(opt.rounds);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-accesslog-'));

// A typical record: what the engine hands the access log for `GET /hello` from curl.
const record = (i) => ({
  id: `0linc0431o-${i.toString(36)}`, remote: '127.0.0.1', port: 40000 + (i % 20000), method: 'GET', url: '/hello?page=2',
  version: '1.1', status: 200, bytes: 207, ms: 0.4 + (i % 7) / 10, aborted: false, ua: 'curl/8.5.0',
});

// The same from 24 kept-alive connections with generated ids, as the engine hands them over: from a
// connection's second line on, its line is a copy of its template (docs/logging.md).
const conns = Array.from({ length: 24 }, () => new AccessConnection());
const keptAlive = (i) => ({ ...record(i), id: requestIdOf(i + 1), seq: i + 1, port: 40000 + (i % 24), conn: conns[i % 24] });

async function measure(format) {
  const file = path.join(tmp, `${format}.log`);
  const log = format === 'none' ? undefined : new AccessLog(openSink({ file }), format === 'skitai' ? 'skitai' : 'json');
  const recs = Array.from({ length: 1024 }, (_, i) => (format === 'kept-alive' ? keptAlive(i) : record(i)));
  const before = process.cpuUsage();
  for (let i = 0; i < lines; i++) {
    // The record is built for every request anyway; only the write is measured.
    const r = recs[i & 1023];
    if (log) {
      log.write(r);
      // A server's turn ends every few lines (about 24 under wrk -c25): JSON lines wait for it.
      if (i % 24 === 23) log.flush();
    }
  }
  await log?.close();
  const used = process.cpuUsage(before);
  fs.rmSync(file, { force: true });
  return (used.user + used.system) / lines;
}

try {
  const best = { none: Infinity, skitai: Infinity, json: Infinity, 'kept-alive': Infinity };
  for (let round = 0; round < rounds; round++) {
    for (const format of Object.keys(best)) best[format] = Math.min(best[format], await measure(format));
  }
  const f = (us) => `${us.toFixed(2)} µs`;
  process.stdout.write(
    `access log, ${lines} lines × ${rounds} rounds, best CPU time per line (file on ${tmp}):\n` +
      `  none   ${f(best.none)}\n  skitai ${f(best.skitai)}  (+${f(best.skitai - best.none)})\n  json   ${f(best.json)}  (+${f(best.json - best.none)})\n` +
      `  json from kept-alive connections ${f(best['kept-alive'])}  (+${f(best['kept-alive'] - best.none)})\n`,
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
