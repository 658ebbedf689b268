import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');

function sources(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Relative imports of a file, resolved to absolute .ts paths (type-only imports included). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
    const spec = (m[1] ?? m[2])!;
    found.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return found;
}

const rel = (f: string): string => path.relative(SRC, f);

test('no source file is over 400 lines', () => {
  const long = sources().filter((f) => fs.readFileSync(f, 'utf8').split('\n').length > 400).map(rel);
  assert.deepEqual(long, []);
});

test('no import cycles in src/', () => {
  const graph = new Map(sources().map((f) => [f, imports(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map(rel).join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const next of graph.get(f) ?? []) visit(next, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('layers only point down (docs/ARCHITECTURE.md)', () => {
  // Which top-level areas each area may import. Leaves import only leaves.
  const leaves = ['config', 'log', 'errors.ts'];
  const allowed: Record<string, string[]> = {
    'errors.ts': [],
    config: ['errors.ts', 'config'],
    log: ['log', 'errors.ts'],
    rpc: ['rpc', ...leaves],
    http: ['http', ...leaves],
    app: ['app', 'was', 'http', ...leaves],
    was: ['was', 'services', 'client', 'db', 'call', 'rpc', 'http', 'mail', ...leaves],
    // The reverse and forward proxies stream their exchanges themselves: the HTTP transport's
    // classifier and pools, the call layer's cancel targets and retry rule, a cluster's Upstream.
    handlers: ['handlers', 'app', 'was', 'services', 'client', 'transport', 'call', 'rpc', 'http', 'auth', ...leaves],
    // Users, Basic credentials, the login back-off: no HTTP, no handlers.
    auth: ['auth', ...leaves],
    cluster: ['cluster', ...leaves],
    // The call layer: Deadline, Gathering, Result, cache, the one failover/fan-out plan and the
    // retry rules. Protocol-free: no transport, no client, no db.
    call: ['call', 'cluster', ...leaves],
    // Transports send one attempt and classify it: they know no members (no cluster/), no retries.
    transport: ['transport', 'call', 'rpc', ...leaves],
    client: ['client', 'transport', 'call', 'cluster', 'rpc', ...leaves],
    // The DB layer sits beside client/, never on it.
    db: ['db', 'transport', 'call', 'cluster', ...leaves],
    // One facade per worker over both: the cluster registry, clock, result caches and the two
    // faces (Clients, Databases). client/ and db/ never import it.
    services: ['services', 'client', 'db', 'transport', 'call', 'cluster', 'mail', ...leaves],
    mail: ['mail', ...leaves],
    // The process layer runs sites: it knows the composition root, not what it composes.
    process: ['process', 'site.ts', ...leaves],
    cli: ['cli', 'process', 'site.ts', ...leaves],
  };
  const area = (f: string): string => rel(f).split(path.sep)[0]!;
  const wrong: string[] = [];
  for (const f of sources()) {
    const from = area(f);
    const may = allowed[from];
    if (!may) continue; // site.ts and index.ts sit on top
    for (const target of imports(f)) {
      if (!may.includes(area(target))) wrong.push(`${rel(f)} imports ${rel(target)}`);
    }
  }
  assert.deepEqual(wrong, []);
});
