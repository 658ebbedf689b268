// `node --import tsx bench/metrics-cost.mjs`: CPU per request of the two ways to count for
// `metrics_path` — plain numbers bumped by the engine (what Skitai does) against a prom-client
// Counter with labels plus a Histogram, updated per request. One process, no sockets: only the
// counting itself, so the difference is not lost in the noise of a shared machine.
import { Counter, Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS, Durations, RouteStats } from '../src/http/traffic.ts';

const N = 2_000_000;
const routes = ['/', '/api', 'ping'].map((r) => new RouteStats(r));
const durations = new Durations();
const reg = new Registry();
const counter = new Counter({ name: 'req_total', help: 'h', labelNames: ['route', 'status_class'], registers: [reg] });
const histogram = new Histogram({ name: 'dur_seconds', help: 'h', buckets: [...DURATION_BUCKETS], registers: [reg] });
const CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];

function plain(i) {
  const r = routes[i % 3];
  r.byClass[2]++;
  durations.add((i % 50) / 10_000);
}
function prom(i) {
  counter.inc({ route: routes[i % 3].route, status_class: CLASSES[2] });
  histogram.observe((i % 50) / 10_000);
}

function time(name, fn) {
  for (let i = 0; i < N / 10; i++) fn(i); // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(i);
  const used = process.cpuUsage(t0);
  const ns = ((used.user + used.system) * 1000) / N;
  console.log(`${name.padEnd(40)} ${ns.toFixed(0).padStart(5)} ns CPU per request`);
  return ns;
}

for (let round = 1; round <= 3; round++) {
  const a = time(`round ${round}: plain numbers (Skitai)`, plain);
  const b = time(`round ${round}: prom-client counter + histogram`, prom);
  console.log(`round ${round}: prom-client costs ${(b / a).toFixed(1)}× the plain numbers, ${((b - a) / 1000).toFixed(2)} µs more per request`);
}
