// Route handler arguments typed from the rule string. Checked by tsc only (test/types/types.test.ts):
// each `@ts-expect-error` line must fail to compile, every other line must compile.
import { App, type Fields, type RuleParams, type Was } from '../../src/index.js';
import { expectType, type Equal } from './expect.js';

const app = new App();

// Path parameters: <int:> and <float:> are numbers, <name> and <path:> strings.
app.route('/item/<int:id>', (was, { id }) => {
  expectType<Equal<typeof id, number>>(true);
  return id + 1;
});
app.route('/price/<float:x>/<name>/<path:rest>', (was, args) => {
  expectType<Equal<typeof args, { x: number; name: string; rest: string }>>(true);
  return args.rest.toUpperCase();
});
app.route('/s/<string:slug>', (was, { slug }) => slug.length);
expectType<Equal<RuleParams<'/a/<int:id>/b/<path:p>'>, { id: number; p: string }>>(true);
expectType<Equal<RuleParams<'/static/page'>, {}>>(true);

// The handler still gets was.
app.route('/who', (was) => {
  expectType<Equal<typeof was, Was<App>>>(true);
  return was.request.path;
});

// A misspelt parameter does not compile.
// @ts-expect-error nmae is not a parameter of the rule
app.route('/greet/<name>', (was, { nmae }) => nmae);

// A parameter used as the wrong type does not compile.
app.route('/item/<int:id>', (was, { id }) => {
  // @ts-expect-error <int:id> is a number
  const s: string = id;
  return s;
});
app.route('/file/<path:p>', (was, { p }) => {
  // @ts-expect-error <path:p> is a string
  const n: number = p;
  return n;
});

// An unknown converter is a compile error (and SKT_APP_RULE at run time).
// @ts-expect-error uuid is not a converter
app.route('/u/<uuid:id>', (was, args) => args);

// Query, form and JSON fields: declared by annotating args; path params must keep their type.
app.route('/search', (was, { q, page }: { q?: string; page?: string }) => ({ q, page }));
app.route('/item/<int:id>/edit', (was, { id, title }: { id: number; title?: string }) => ({ id, title }));
app.post('/item/<int:id>', (was, { id, tags }: { id: number; tags: string[] }) => ({ id, tags }));
interface Paging {
  page?: string;
}
app.route('/list/<int:id>', (was, { page }: Paging) => page);
// @ts-expect-error the rule gives id a number, the annotation says string
app.route('/item/<int:id>/edit', (was, { id }: { id: string; title?: string }) => id);
// @ts-expect-error the rule gives name a string
app.get('/greet/<name>', (was, { name }: { name: number }) => name);
// Undeclared fields are not there without an annotation.
app.route('/search', (was, args) => {
  // @ts-expect-error q is not declared
  return args.q;
});
// Every field, untyped: annotate with Fields.
app.route('/echo/<int:id>', (was, args: Fields) => {
  expectType<Equal<typeof args.q, unknown>>(true);
  return args;
});

// RPC positional params are in args as unknown; an annotation may narrow them.
app.route('/add', (was, { a, b }) => Number(a) + Number(b), { params: ['a', 'b'] });
app.route('/add2', (was, { a, b }: { a: number; b: number }) => a + b, { params: ['a', 'b'] });
// @ts-expect-error c is not in params
app.route('/add3', (was, { a, c }) => [a, c], { params: ['a', 'b'] });

// The method shorthands are typed the same way.
app.get('/g/<int:id>', (was, { id }) => id * 2);
app.put('/p/<int:id>', (was, { id }) => id * 2);
app.patch('/p/<int:id>', (was, { id }) => id * 2);
app.delete('/p/<int:id>', (was, { id }) => id * 2);
// @ts-expect-error ident is not a parameter
app.post('/p/<int:id>', (was, { ident }) => ident);

// A handler written apart from its route is checked against the rule.
const show = (was: Was<App>, { id }: { id: number }): number => id;
app.route('/show/<int:id>', show);
// @ts-expect-error the rule gives id a string
app.route('/show/<id>', show);

// A rule built at run time cannot be parsed: args are Fields.
const rule: string = ['', 'dyn', '<id>'].join('/');
app.route(rule, (was, args) => {
  expectType<Equal<typeof args, Record<string, unknown>>>(true);
  return args;
});

// Generators and Response objects are still fine as handlers.
app.route('/stream/<int:n>', async function* (was, { n }) {
  for (let i = 0; i < n; i++) yield `${i}\n`;
});
app.route('/r', () => new Response('ok'));

// WebSocket routes: open's args are typed from the rule as for routes; message data is text or bytes.
app.websocket('/chat/<room>/<int:n>', {
  open(ws, was, args) {
    expectType<Equal<typeof args, { room: string; n: number }>>(true);
    expectType<Equal<typeof was, Was<App>>>(true);
    ws.join(args.room);
  },
  message(ws, data, isBinary) {
    expectType<Equal<typeof data, string | Buffer>>(true);
    expectType<Equal<typeof isBinary, boolean>>(true);
    ws.send(data);
  },
  close(ws, code, reason) {
    expectType<Equal<typeof code, number>>(true);
    expectType<Equal<typeof reason, string>>(true);
  },
});
// @ts-expect-error roomm is not a parameter of the rule
app.websocket('/chat/<room>', { open(ws, was, { roomm }) {} });
