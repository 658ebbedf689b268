// The closed loop the in-process SQL benchmarks share: `concurrency` callers each make one call
// after another until `ms` have passed; every call must answer 1. Returns the number of calls.
import { performance } from 'node:perf_hooks';

export async function drive(call, ms, concurrency = 50) {
  const end = performance.now() + ms;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if ((await call()) !== 1) throw new Error('wrong answer');
      n++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n;
}
