// The rule tree must pick exactly the route the former linear scan picked: the first in
// registration order that matches and takes the method. `linear()` below is that scan, kept as the
// reference; random apps and paths are matched by both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, type Match, type Route } from '../../src/app/app.js';

const ALL = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const visible = (r: Route, rpc: boolean): boolean => (rpc ? r.rpc !== false : r.rpc !== 'only');

function linear(app: App, path: string, method: string, rpc: boolean): Match {
  let seen = false;
  const statics = app.routes.filter((r) => r.rule.isStatic && r.rule.source === path);
  const dynamic = app.routes.filter((r) => !r.rule.isStatic);
  for (const route of [...statics, ...dynamic]) {
    if (!visible(route, rpc)) continue;
    const params = route.rule.isStatic ? {} : route.rule.match(path);
    if (!params) continue;
    seen = true;
    if (rpc || !route.methods || route.methods.has(method)) return { kind: 'route', route, params };
  }
  if (seen) {
    const allow = new Set(['OPTIONS']);
    for (const route of [...statics, ...dynamic]) {
      if (visible(route, false) && route.rule.match(path)) for (const m of route.methods ?? ALL) allow.add(m);
    }
    return { kind: 'method', allow: ALL.filter((m) => allow.has(m)) };
  }
  const has = (p: string): boolean => app.routes.some((r) => r.rule.isStatic && r.rule.source === p);
  if (!rpc && path !== '' && !path.endsWith('/') && has(path + '/')) return { kind: 'slash', location: path + '/' };
  if (!rpc && path === '' && app.routes.some((r) => r.rule.isStatic && r.rule.source === '/')) return { kind: 'slash', location: '/' };
  return { kind: 'none' };
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

const RULE_SEGMENTS = ['a', 'b', 'item', '', '<x>', '<string:s>', '<int:n>', '<float:f>', '<path:p>', '<u>-<v>', 'f<w>.txt', 'v<int:k>'];
const PATH_SEGMENTS = ['a', 'b', 'item', '', '1', '-2', '3.5', 'x-y', 'fz.txt', 'f.txt', '%41b', '%zz', '99999999999999999999', 'v7', 'edit', 'a\nb'];

test('the rule tree picks what the linear scan picked, for random apps and paths', () => {
  const rand = rng(16);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  let compared = 0;
  for (let a = 0; a < 60; a++) {
    const app = new App();
    const count = 5 + Math.floor(rand() * 40);
    for (let i = 0; i < count; i++) {
      const used = new Set<string>();
      const segs: string[] = [];
      const depth = 1 + Math.floor(rand() * 4);
      for (let d = 0; d < depth; d++) {
        let seg = pick(RULE_SEGMENTS);
        // A name may appear once per rule: rename repeats.
        for (const m of seg.matchAll(/<(?:\w+:)?(\w+)>/g)) {
          if (used.has(m[1]!)) seg = seg.replace(`${m[1]}>`, `${m[1]}${d}>`);
          used.add(m[1]!);
        }
        segs.push(seg);
      }
      const rule = '/' + segs.join('/');
      const methods = rand() < 0.5 ? undefined : [pick(['GET', 'POST', 'PUT'])];
      const rpc = pick([true, false, 'only'] as const);
      app.route(rule as '/a', () => i, { ...(methods ? { methods } : {}), rpc });
    }
    for (let p = 0; p < 300; p++) {
      const depth = Math.floor(rand() * 5);
      const path = depth === 0 ? pick(['', '/']) : '/' + Array.from({ length: depth }, () => pick(PATH_SEGMENTS)).join('/');
      for (const [method, rpc] of [['GET', false], ['POST', false], ['DELETE', false], ['\0', false], ['POST', true]] as const) {
        assert.deepEqual(app.match(path, method, rpc), linear(app, path, method, rpc), `${method} ${JSON.stringify(path)} rpc=${rpc} in ${app.routes.map((r) => r.rule.source).join(' ')}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 50_000);
});

test('a rule without parameters wins; between the others registration order decides, as before', () => {
  const app = new App();
  app.route('/item/<id>', () => 'param');
  app.route('/item/new', () => 'literal');
  app.route('/item/<id>/<path:rest>', () => 'rest');
  app.route('/item/<id>/edit', () => 'edit');
  app.route('/user/<int:id>', () => 'int', { methods: ['POST'] });
  app.route('/user/<name>', () => 'name');
  const m = app.match('/item/new', 'GET');
  assert.equal(m.kind === 'route' && m.route.rule.source, '/item/new');
  const e = app.match('/item/3/edit', 'GET');
  assert.deepEqual(e.kind === 'route' && [e.route.rule.source, e.params], ['/item/<id>/<path:rest>', { id: '3', rest: 'edit' }]);
  const u = app.match('/user/7', 'GET');
  assert.deepEqual(u.kind === 'route' && [u.route.rule.source, u.params], ['/user/<name>', { name: '7' }]);
  const p = app.match('/user/7', 'POST');
  assert.deepEqual(p.kind === 'route' && p.params, { id: 7 });
});
