import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

// The declarations the package ships (`npm run build` emits them to dist/), emitted to a temp
// directory so the test needs no build and leaves dist/ alone.
const ROOT = path.resolve(import.meta.dirname, '../..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-dts-'));
after(() => fs.rmSync(out, { recursive: true, force: true }));

function emit(): void {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--outDir', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

/** Every module a user's tsc reads from the package's entry points (package.json exports), with the packages each imports. */
function publicGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (graph.has(file)) return;
    const bare: string[] = [];
    graph.set(file, bare);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"]([^'"]+)['"]|<reference types="([^"]+)"/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.d.ts')));
      else bare.push(spec);
    }
  };
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types?: string }> };
  const entries = Object.values(pkg.exports).flatMap((e) => (typeof e === 'object' && e.types ? [e.types] : []));
  assert.ok(entries.includes('./dist/index.d.ts'), 'exports["."] has no types');
  for (const types of entries) visit(path.join(out, path.relative('dist', types)));
  return graph;
}

// undici, prom-client and pino are dependencies that ship their own declarations: installing Skitai installs them.
const SELF_TYPED = new Set(['undici', 'prom-client', 'pino']);

test('the public declarations import only node: modules and self-typed dependencies (no @types package of a dependency is needed)', () => {
  emit();
  const graph = publicGraph();
  assert.ok(graph.size > 20, `only ${graph.size} declaration files reached`);
  const foreign = [...graph].flatMap(([file, specs]) =>
    specs.filter((s) => !s.startsWith('node:') && !SELF_TYPED.has(s)).map((s) => `${path.relative(out, file)} -> ${s}`),
  );
  // pg, busboy, nunjucks and nodemailer ship no types: a user's tsc would need @types/pg etc.
  assert.deepEqual(foreign, []);
});
