// `npm run bench -- routes` (node --import tsx bench/routes.mjs): CPU per App.match() with 10, 100
// and 500 dynamic routes, against the linear scan it replaced (one regex per rule, kept here as the
// reference) and find-my-way (Fastify's router) holding the same routes. One process, no sockets:
// the routing alone. The /hello ratio of the whole server is `npm run bench -- --targets raw,skitai`.
import findMyWay from 'find-my-way';
import { App } from '../src/app/app.ts';
import { RouteTable } from '../src/http/routes.ts';

const N = Number(process.env.ROUTES_N ?? 1_000_000);

/** Route i in Skitai's and find-my-way's syntax: a mix of int, string and path parameters. */
function shape(i) {
  switch (i % 3) {
    case 0: return [`/api/v1/res${i}/<int:id>`, `/api/v1/res${i}/:id`, `/api/v1/res${i}/42`];
    case 1: return [`/res${i}/<name>/edit`, `/res${i}/:name/edit`, `/res${i}/bob/edit`];
    default: return [`/files${i}/<path:p>`, `/files${i}/*`, `/files${i}/a/b/c.txt`];
  }
}

function linear(routes, path, method) {
  for (const r of routes) {
    const params = r.rule.match(path);
    if (params && (!r.methods || r.methods.has(method))) return params;
  }
  return undefined;
}

function time(fn) {
  for (let i = 0; i < N / 10; i++) fn(i); // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(i);
  const used = process.cpuUsage(t0);
  return ((used.user + used.system) * 1000) / N;
}

const rows = [];
for (const count of [10, 100, 500]) {
  const app = new App();
  const fmw = findMyWay();
  const paths = [];
  for (let i = 0; i < count; i++) {
    const [rule, fmwRule, path] = shape(i);
    app.route(rule, () => i);
    fmw.on('GET', fmwRule, () => i);
    paths.push(path);
  }
  app.get('/hello', () => 'Hello World');
  const dynamic = app.routes.filter((r) => !r.rule.isStatic);
  // Every route in turn: a linear scan pays for its position, so the mean is over all of them.
  const n = paths.length;
  for (let k = 0; k < n; k++) if (app.match(paths[k], 'GET').kind !== 'route' || !fmw.find('GET', paths[k])) throw new Error(`no match: ${paths[k]}`);
  const tree = time((i) => app.match(paths[i % n], 'GET'));
  const scan = time((i) => linear(dynamic, paths[i % n], 'GET'));
  const fm = time((i) => fmw.find('GET', paths[i % n]));
  const miss = time(() => app.match('/nothing/here', 'GET'));
  const hello = time(() => app.match('/hello', 'GET'));
  rows.push({ count, tree, scan, fm, miss, hello });
}

// Virtual hosts: the mounts of one of 100 host groups, chosen by a Host header (remembered per value).
const table = new RouteTable();
const handler = { name: 'h', handle: () => false };
table.add('/', handler);
for (let i = 0; i < 100; i++) table.group([`site${i}.test`, `*.site${i}.test`]).add('/', handler);
const plain = new RouteTable().add('/', handler);
const hostRows = [
  ['no @ lines', time(() => plain.mountsFor('www.site50.test:8080'))],
  ['100 host groups', time(() => table.mountsFor('www.site50.test:8080'))],
];

const f = (ns) => `${(ns / 1000).toFixed(3)} µs`.padStart(10);
console.log('| dynamic routes | App.match (tree) | linear scan (before) | find-my-way | miss (404) | static /hello |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.count} | ${f(r.tree)} | ${f(r.scan)} | ${f(r.fm)} | ${f(r.miss)} | ${f(r.hello)} |`);
console.log('\n| route table (mounts of the Host) | cost |\n|---|---:|');
for (const [name, ns] of hostRows) console.log(`| ${name} | ${f(ns)} |`);
