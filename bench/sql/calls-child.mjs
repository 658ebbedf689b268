// One measurement of bench/sql/calls.mjs, in its own process (run under `node --import tsx`):
// MODE pg = pg.Pool.query, dlb = Databases.dlb(...).execute(...).getwait() of the checkout in ROOT
// (src/ through tsx), dlb-dist = the same from ROOT's built dist/ (`npm run build` first).
// Usage: node --import tsx calls-child.mjs MODE ROOT PGPORT SECONDS CONCURRENCY MAXCONNS
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { drive } from './drive.mjs';
import { sqlMode } from './modes.mjs';

const [mode, root, pgPort, seconds, concurrency, maxConns] = process.argv.slice(2);
const { call, close } = await sqlMode(mode, root, pgPort, maxConns);

const run = (ms) => drive(call, ms, Number(concurrency));

// Warm-up: connections, and the JIT. V8 tiers functions up by how often they ran, not by time, so
// on a starved core 2 s was a few thousand calls and the measured window still paid for compiling
// (more for the side with more code): warm up by count too, up to 20 s.
for (let warm = 0, t = performance.now(); warm < 30_000 && performance.now() - t < 20_000;) warm += await run(warm === 0 ? 2000 : 1000);
// Garbage collections in the measured window: what a call allocates and keeps, whatever the load.
const gc = { scavenges: 0, markCompacts: 0, ms: 0 };
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++;
    else if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.markCompacts++;
    gc.ms += e.duration;
  }
});
observer.observe({ entryTypes: ['gc'] });
// SKITAI_BENCH_ALLOC=file: where the measured window's allocations come from (sampled, collected
// objects included), as a .heapprofile for bench/sql/allocs.mjs. Costs CPU: read calls/s apart.
const allocFile = process.env.SKITAI_BENCH_ALLOC;
const session = allocFile ? new (await import('node:inspector')).Session() : undefined;
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
if (session) {
  session.connect();
  await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const n = await run(Number(seconds) * 1000);
const cpu = process.cpuUsage(cpu0);
observer.disconnect();
if (session) {
  const { profile } = await post('HeapProfiler.stopSampling');
  (await import('node:fs')).writeFileSync(allocFile, JSON.stringify({ ...profile, calls: n }));
}
console.log(JSON.stringify({ calls: n, perSecond: n / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / n, gc: { ...gc, usPerCall: (gc.ms * 1000) / n, callsPerScavenge: n / Math.max(1, gc.scavenges) } }));
await close();
