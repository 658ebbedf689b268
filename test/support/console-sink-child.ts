// A process writing access lines through the batched console sink (`access_log = console`), its
// stdout a pipe to the test. It reports each write() on stdout as a size on stderr, and exits with
// lines still waiting, to show the exit handler writes them. Used by test/log/sinks.test.ts.
import fs from 'node:fs';
import { openSink } from '../../src/log/logger.js';

const real = process.stdout.write.bind(process.stdout);
const sizes: number[] = [];
process.stdout.write = ((chunk: Uint8Array | string, ...rest: never[]) => {
  sizes.push(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);
  return real(chunk, ...rest);
}) as typeof process.stdout.write;

const line = (i: number): string => (i === 100 ? `{"n":${i},"long":"${'L'.repeat(6000)}"}` : `{"n":${i},"pad":"${'x'.repeat((i * 37) % 300)}","é":"✓"}`);
const sink = openSink('console', 50);
for (let i = 0; i < 200; i++) sink.write(line(i));
// One turn's lines are written at its end; these wait for the next one, which never comes.
setImmediate(() =>
  setImmediate(() => {
    for (let i = 200; i < 230; i++) sink.write(line(i));
    process.on('exit', () => fs.writeSync(2, JSON.stringify(sizes)));
    process.exit(0);
  }),
);
