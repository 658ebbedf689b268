// Summarises a V8 .cpuprofile (node --cpu-prof) over a time window, in µs per request, with
// file:line mapped back to the TypeScript through the source maps profile-hook.mjs saved.
// Used by profile.mjs (a server under wrk) and clients.mjs --profile (the was clients in-process).
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const SRC = pathToFileURL(path.join(ROOT, 'src')).href + '/';
// The compiled package (SKITAI_DIST=1) counts as Skitai's own code too.
const DIST = pathToFileURL(path.join(ROOT, 'dist')).href + '/';

/** Maps a V8 call frame (0-based line/column in generated JS) to `file:line` in the source. */
function locator(mapsFile) {
  const payloads = fs.existsSync(mapsFile) ? JSON.parse(fs.readFileSync(mapsFile, 'utf8')) : {};
  const cache = new Map();
  return ({ url, lineNumber, columnNumber }) => {
    if (!url) return '';
    let line = lineNumber + 1;
    if (payloads[url]) {
      if (!cache.has(url)) cache.set(url, new SourceMap(payloads[url]));
      const e = cache.get(url).findEntry(lineNumber, columnNumber);
      if (typeof e?.originalLine === 'number') line = e.originalLine + 1;
    }
    return `${url.startsWith('file://') ? path.relative(ROOT, fileURLToPath(url)) : url}:${line}`;
  };
}

const add = (m, k, us) => m.set(k, (m.get(k) ?? 0) + us);

/**
 * Sums the samples inside `window` ({ from, to } in CLOCK_MONOTONIC µs, `requests` done in it):
 * self time, inclusive time, time per innermost src/ frame, and with `callers` the heaviest stacks
 * through the function of that name.
 */
export function analyse(file, mapsFile, window, { callers } = {}) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const where = locator(mapsFile);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keys = new Map();
  const key = (id) => {
    if (!keys.has(id)) {
      const f = byId.get(id).callFrame;
      keys.set(id, `${f.functionName || '(anonymous)'}  ${where(f)}`.trim());
    }
    return keys.get(id);
  };
  const a = { file, requests: window.requests, busy: 0, self: new Map(), total: new Map(), owned: new Map(), stacks: new Map() };
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    const us = prof.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    if (t < window.from || t > window.to) continue;
    const leaf = prof.samples[i];
    if (byId.get(leaf).callFrame.functionName === '(idle)') continue;
    a.busy += us;
    add(a.self, key(leaf), us);
    const chain = [];
    let owner;
    for (let id = leaf; id !== undefined; id = parent.get(id)) {
      chain.push(key(id));
      if (!owner) {
        const url = byId.get(id).callFrame.url;
        if (url.startsWith(SRC) || url.startsWith(DIST)) owner = key(id);
      }
    }
    add(a.owned, owner ?? '(no src/ or dist/ frame on the stack: node:http, streams, GC...)', us);
    for (const k of new Set(chain)) add(a.total, k, us);
    const at = callers ? chain.findIndex((k) => k.startsWith(`${callers}  `)) : -1;
    if (at >= 0) add(a.stacks, chain.slice(at, at + 10).join('\n              <- '), us);
  }
  return a;
}

/** Prints the summary: top self time, inclusive src/ time, time by innermost src/ frame. */
export function print(a, { top = 20, callers, unit = 'req' } = {}) {
  const per = (us) => `${(us / a.requests).toFixed(2).padStart(6)} µs/${unit} ${((100 * us) / a.busy).toFixed(1).padStart(5)}%`;
  const list = (m, filter = () => true) =>
    [...m].filter(([k]) => filter(k)).sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, us]) => `  ${per(us)}  ${k}`).join('\n');
  console.log(`\n${a.file}\n${a.requests} ${unit}s, ${(a.busy / a.requests).toFixed(2)} µs busy CPU per ${unit} (main thread, as sampled)`);
  console.log(`\nTop self time:\n${list(a.self)}`);
  console.log(`\nInclusive time in src/:\n${list(a.total, (k) => / (src|dist)\//.test(k))}`);
  console.log(`\nBy innermost src/ frame (its own code + the node internals it called):\n${list(a.owned)}`);
  if (callers) console.log(`\nHeaviest stacks through ${callers}:\n${list(a.stacks)}`);
}

/**
 * Where inside the functions named `name` the samples fell: V8's per-line tick counts
 * (`positionTicks`), over the whole recording (warm-up included). Lines are of the script V8 ran
 * (dist/ with SKITAI_DIST=1; under tsx, tsx's output, which is of little use), and code V8 inlined into the function counts at the inlined function's
 * own line numbers, which may belong to another file (a node internal): read a line number past the
 * end of the named file that way.
 */
export function lineTicks(file, name) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const lines = new Map();
  let hits = 0;
  for (const n of prof.nodes) {
    if (n.callFrame.functionName !== name) continue;
    hits += n.hitCount;
    const where = n.callFrame.url.startsWith('file://') ? path.relative(ROOT, fileURLToPath(n.callFrame.url)) : n.callFrame.url;
    for (const p of n.positionTicks ?? []) add(lines, `${where}:${p.line}`, p.ticks);
  }
  return { hits, lines: [...lines].sort((a, b) => b[1] - a[1]) };
}

/** The main thread's .cpuprofile in `dir` (tsx's loader thread writes one too: CPU.<date>.<pid>.<thread>.<seq>). */
export function mainProfile(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return path.join(dir, file);
}

/** Frames whose self time per request grew (and shrank) most from `base` to `a`; `label` names the two. */
export function compare(a, base, label, top = 20) {
  const rows = new Set([...a.self.keys(), ...base.self.keys()]);
  const diff = [...rows].map((k) => [k, (a.self.get(k) ?? 0) / a.requests - (base.self.get(k) ?? 0) / base.requests]);
  const fmt = ([k, d]) => `  ${(d >= 0 ? '+' : '') + d.toFixed(2).padStart(5)} µs/req  ${k}`;
  const total = a.busy / a.requests - base.busy / base.requests;
  console.log(`\nSelf time per request, ${label}: ${total >= 0 ? '+' : ''}${total.toFixed(2)} µs/req in all`);
  console.log(`Most extra:\n${diff.sort((x, y) => y[1] - x[1]).slice(0, top).map(fmt).join('\n')}`);
  console.log(`Most saved:\n${diff.sort((x, y) => x[1] - y[1]).slice(0, 5).map(fmt).join('\n')}`);
}
