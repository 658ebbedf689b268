import { App } from 'skitai';

/** The benchmark app: one route, the same answer the peers give on /hello. */
export const app = new App();

/**
 * A function that spins `us` µs of the wall clock per call, the call itself included: the loop
 * overshoots by about a clock read, and a call costs a little more than its loop, so the time per
 * call is measured here and the target lowered to match: the median of 21 rounds of 1,000 calls,
 * so neither a round in which the process lost the core for a moment nor an unusually fast one
 * sets it (in a loop, 1.5 then costs 1.50–1.55 µs of CPU per call, 1.0 costs 0.99–1.02).
 */
function spinner(us: number): () => void {
  const want = us / 1000;
  let target = want;
  const spin = (): void => {
    const until = performance.now() + target;
    while (performance.now() < until);
  };
  for (let pass = 0; pass < 2; pass++) {
    const rounds: number[] = [];
    for (let round = 0; round < 21; round++) {
      const t0 = performance.now();
      for (let i = 0; i < 1000; i++) spin();
      rounds.push((performance.now() - t0) / 1000);
    }
    rounds.sort((a, b) => a - b);
    target = Math.max(0, target - (rounds[10]! - want));
  }
  return spin;
}

/**
 * SKITAI_BENCH_SPIN_US: /hello first spins that many µs (bench/pair.mjs target `skitai-spin`): a
 * known CPU cost with no I/O, to compare another cost with under the same load.
 */
const spinUs = Number(process.env.SKITAI_BENCH_SPIN_US ?? 0);
const spin = spinUs > 0 ? spinner(spinUs) : undefined;

app.route(
  '/hello',
  spin
    ? () => {
        spin();
        return 'Hello World';
      }
    : () => 'Hello World',
);
