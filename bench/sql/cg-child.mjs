// One side of bench/sql/callgrind.mjs, run under callgrind (`node --import tsx`): MODE pg =
// pg.Pool.query, dlb = Databases.dlb(...).execute(...).getwait() of ROOT's src/. Warms up, says
// "ready", runs COUNT calls when stdin says "go", says "done", exits when stdin says "exit".
// Usage: node --import tsx cg-child.mjs MODE ROOT PGPORT COUNT CONCURRENCY MAXCONNS WARMUP
import readline from 'node:readline';
import { sqlMode } from './modes.mjs';

const [mode, root, pgPort, count, concurrency, maxConns, warmup] = process.argv.slice(2);
// A long wait: under callgrind a call takes ~50 times as long.
const { call, close } = await sqlMode(mode, root, pgPort, maxConns, 30);

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
