// Reading callgrind's output for bench/callgrind.mjs (a server) and bench/sql/callgrind.mjs (calls in
// one process): self cost per function, JIT code named from node's perf map.
import fs from 'node:fs';
import path from 'node:path';

/** The garbage collector's and the optimizing compiler's functions: their share moves from run to run (when a scavenge or a recompilation falls). */
export const NOISE = /Scaveng|IterateObjectCache|RootVisitor|RootScavenge|Heap::|MemoryChunk|heap::base|Evacuat|Marking|Sweep|compiler::|GarbageCollect|CollectGarbage/;
/** A profile's instructions without {@link NOISE}. */
export const steady = (p) => [...p.fns].reduce((sum, [key, cost]) => (NOISE.test(key) ? sum : sum + cost[0]), 0);

/** The perf map's JIT code ranges, sorted by start: [start, end, name]. */
export function loadPerfMap(file) {
  const ranges = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^([0-9a-f]+) ([0-9a-f]+) (.*)$/);
    if (m) ranges.push([parseInt(m[1], 16), parseInt(m[1], 16) + parseInt(m[2], 16), m[3].replace(/:\d+:\d+$/, '').replace(/file:\/\/\/\S*?\/(src|bench)\//, '$1/')]);
  }
  return ranges.sort((x, y) => x[0] - y[0]);
}

export function nameAt(jit, addr) {
  let lo = 0;
  let hi = jit.length - 1;
  let found;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (jit[mid][0] <= addr) {
      found = jit[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found && addr < found[1] ? found[2] : undefined;
}

/**
 * Self cost per function (every event column) from a callgrind dump, and the call edges; functions
 * callgrind could not name (JIT code, `0x…`) take their name from the perf map. A `calls=` line is
 * followed by the inclusive cost of that call, which is not the caller's own.
 */
export function selfCost(text, jit) {
  const names = new Map();
  const fns = new Map();
  const edges = new Map();
  let events = ['Ir'];
  let total = [0];
  let fn = '';
  let callee = '';
  let calls = 0;
  let callCost = false;
  const resolve = (raw) => {
    const m = raw.match(/^0x([0-9a-f]+)$/);
    return m ? (nameAt(jit, parseInt(m[1], 16)) ?? 'JIT (unnamed)') : raw.replace(/'\d+$/, '');
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('events:')) {
      events = line.slice(7).trim().split(/\s+/);
      total = events.map(() => 0);
    } else if (line.startsWith('fn=') || line.startsWith('cfn=')) {
      const m = line.match(/^c?fn=\((\d+)\)(?: (.*))?$/);
      if (m[2] !== undefined) names.set(m[1], resolve(m[2]));
      if (line[0] === 'f') fn = names.get(m[1]);
      else callee = names.get(m[1]);
    } else if (line.startsWith('calls=')) {
      callCost = true;
      calls = Number(line.slice(6).split(' ')[0]);
    } else if (/^[+\-*0-9]/.test(line)) {
      const parts = line.split(' ');
      const cost = events.map((_, i) => Number(parts[i + 1] ?? 0) || 0);
      if (callCost) {
        callCost = false;
        const key = `${fn}\u0000${callee}`;
        const e = edges.get(key) ?? { calls: 0, ir: 0 };
        e.calls += calls;
        e.ir += cost[0];
        edges.set(key, e);
        continue;
      }
      let f = fns.get(fn);
      if (!f) fns.set(fn, (f = events.map(() => 0)));
      for (let i = 0; i < cost.length; i++) {
        f[i] += cost[i];
        total[i] += cost[i];
      }
    }
  }
  return { events, total, fns, edges };
}

/**
 * The main thread's profile of the process `pid` from the dump `callgrind_control -d` wrote into
 * `dir` (thread 1), its JIT code named from node's perf map, which is then removed. `context` is
 * added to the error when there is no dump.
 */
export function readMainThread(dir, pid, context = '') {
  const dump = fs.readdirSync(dir).filter((f) => f.startsWith('callgrind.out') && /-01$/.test(f)).map((f) => path.join(dir, f)).sort((x, y) => fs.statSync(x).mtimeMs - fs.statSync(y).mtimeMs)[0];
  if (!dump) throw new Error(`no callgrind dump in ${dir}: ${fs.readdirSync(dir).join(', ')}${context ? `\n${context}` : ''}`);
  const perfMap = `/tmp/perf-${pid}.map`;
  const result = selfCost(fs.readFileSync(dump, 'utf8'), fs.existsSync(perfMap) ? loadPerfMap(perfMap) : []);
  fs.rmSync(perfMap, { force: true });
  return result;
}
