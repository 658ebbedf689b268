// One side of bench/sql/callgrind.mjs, run under callgrind (`node --import tsx`): MODE pg =
// pg.Pool.query, dlb = Databases.dlb(...).execute(...).getwait() of ROOT's src/. Warms up, says
// "ready", runs COUNT calls when stdin says "go", says "done", exits when stdin says "exit".
// raw = undici Pool.request, lb = Clients.lb(...).getwait() (HTTP, to two members).
// Usage: node --import tsx cg-child.mjs MODE ROOT PGPORT|P1,P2 COUNT CONCURRENCY MAXCONNS WARMUP
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { sqlMode } from './modes.mjs';

const [mode, root, pgPort, count, concurrency, maxConns, warmup] = process.argv.slice(2);
// A long wait: under callgrind a call takes ~50 times as long. raw and lb (HTTP): PGPORT is the two
// members' ports, "P1,P2" (bench/clients/members.mjs answering {"ok":1}).
const { call, close } = mode === 'raw' || mode === 'lb' ? await httpMode(mode, root, pgPort.split(','), maxConns) : await sqlMode(mode, root, pgPort, maxConns, 30);

/** raw undici Pool.request + body.json() over the two members in turn, or was.lb over them, as bench/clients.mjs runs them. */
async function httpMode(kind, dir, ports, conns) {
  if (kind === 'raw') {
    const { Pool } = await import('undici');
    const pools = ports.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: Number(conns) }));
    let turn = 0;
    const one = async () => {
      const res = await pools[turn++ & 1].request({ path: '/x', method: 'GET' });
      return (await res.body.json()).ok;
    };
    return { call: one, close: () => Promise.all(pools.map((p) => p.close())) };
  }
  const { parseConfigText } = await import(pathToFileURL(path.join(dir, 'src/config/load.ts')).href);
  const { Clients } = await import(pathToFileURL(path.join(dir, 'src/services/clients.ts')).href);
  const config = parseConfigText(`[@c]\nmembers = ${ports.map((p) => `127.0.0.1:${p}`).join(', ')}\nmax_conns = ${conns}\n`, '/tmp/site.conf', '/tmp');
  const clients = new Clients({ clusters: config.clusters });
  return { call: async () => (await clients.lb('@c/x', 'GET').getwait(30)).data.ok, close: () => clients.close() };
}

/** `n` calls, `concurrency` in flight. */
async function calls(n) {
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      if ((await call()) !== 1) throw new Error('wrong answer');
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
}

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await calls(Number(warmup));
process.stdout.write('ready\n');
await lines.next();
await calls(Number(count));
process.stdout.write('done\n');
await lines.next();
await close();
process.exit(0);
