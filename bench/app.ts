import { App } from 'skitai';

/** The benchmark app: one route, the same answer the peers give on /hello. */
export const app = new App();

/**
 * SKITAI_BENCH_SPIN_US: /hello first spins that many µs of the wall clock (bench/pair.mjs target
 * `skitai-spin`): a known CPU cost with no I/O, to compare another cost with under the same load.
 */
const spinMs = Number(process.env.SKITAI_BENCH_SPIN_US ?? 0) / 1000;

app.route(
  '/hello',
  spinMs > 0
    ? () => {
        const until = performance.now() + spinMs;
        while (performance.now() < until);
        return 'Hello World';
      }
    : () => 'Hello World',
);
