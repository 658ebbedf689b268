import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import jayson from 'jayson';
import { startSite, type TestSite } from '../support/site.js';

const run = promisify(execFile);

const RPCAPP = `
import { App, abort } from 'skitai';
export const app = new App();
app.route('/add', (was, { a, b }) => a + b, { params: ['a', 'b'], doc: 'add(a, b) -> a + b' });
app.route('/echo', (was, { value }) => value, { params: ['value'] });
app.route('/types', () => ({
  int: 42, big: 2 ** 40, neg: -7, bool: true, str: 'héllo <&> "q"', dbl: 1.5,
  date: new Date('2020-01-02T03:04:05Z'), bin: Buffer.from([0, 1, 254, 255]),
  arr: [1, 'a', [2]], nested: { x: { y: 'z' } }, nil: null, empty: '',
}));
app.route('/fail', () => { throw new Error('secret boom'); });
app.route('/denied', () => abort(403, 'not for you'));
app.route('/fn', () => () => 1);
app.route('/hidden', () => 'web only', { rpc: false });
app.route('/rpconly', () => 'rpc only', { rpc: 'only' });
app.route('/hello/world', () => 'hi from hello.world');
// the JSON-RPC 2.0 specification's examples
app.route('/subtract', (was, { minuend, subtrahend }) => minuend - subtrahend, { params: ['minuend', 'subtrahend'] });
app.route('/sum', (was, { a, b, c }) => a + b + c, { params: ['a', 'b', 'c'] });
app.route('/update', () => undefined, { params: ['a', 'b', 'c', 'd', 'e'] });
app.route('/notify_hello', () => undefined, { params: ['n'] });
app.route('/get_data', () => ['hello', 5]);
app.route('/form', (was, args) => ({ got: args, type: was.request.contentType }), { methods: ['POST'] });
`;

let s: TestSite;
before(async () => {
  s = await startSite('[routes:line]\n/ = ./rpcapp\n/test = ./rpcapp\n', { 'rpcapp.ts': RPCAPP });
});
after(() => s.close());

async function python(script: string, ...args: string[]): Promise<any> {
  const { stdout } = await run('python3', ['-c', script, ...args], { timeout: 20_000 });
  return JSON.parse(stdout);
}

const PY_CLIENT = String.raw`
import sys, json, datetime, xmlrpc.client as x
p = x.ServerProxy(sys.argv[1], allow_none=True, use_builtin_types=True)
out = {}
out['add'] = p.add(2, 3)
t = p.types()
out['types'] = {k: (v.isoformat() if isinstance(v, datetime.datetime) else list(v) if isinstance(v, bytes) else v) for k, v in t.items()}
sent = {'a': [1, 2.5, True, None, 'x'], 'd': datetime.datetime(2021, 5, 6, 7, 8, 9), 'b': b'\x00\x01', 'u': 'ünï', 'big': 2**31 - 1}
out['echo_same'] = p.echo(sent) == sent
def fault(f):
    try:
        f()
        return None
    except x.Fault as e:
        return [e.faultCode, e.faultString]
out['fail'] = fault(p.fail)
out['missing'] = fault(p.nope)
out['denied'] = fault(p.denied)
out['badparams'] = fault(lambda: p.add(1, 2, 3))
out['unencodable'] = fault(p.fn)
out['hidden'] = fault(p.hidden)
out['rpconly'] = p.rpconly()
out['list'] = p.system.listMethods()
out['help'] = p.system.methodHelp('add')
mc = x.MultiCall(p)
mc.add(1, 2)
mc.fail()
mc.add(3, 4)
out['multi'] = mc().results
print(json.dumps(out))
`;

describe('XML-RPC with Python xmlrpc.client', () => {
  test('every type both ways, faults, introspection and multicall', async () => {
    const out = await python(PY_CLIENT, s.base + '/');
    assert.equal(out.add, 5);
    assert.deepEqual(out.types, {
      int: 42, big: 2 ** 40, neg: -7, bool: true, str: 'héllo <&> "q"', dbl: 1.5, date: '2020-01-02T03:04:05',
      bin: [0, 1, 254, 255], arr: [1, 'a', [2]], nested: { x: { y: 'z' } }, nil: null, empty: '',
    });
    assert.equal(out.echo_same, true);
    assert.equal(out.fail[0], -32500);
    assert.doesNotMatch(out.fail[1], /secret boom/, 'app error text is not shown outside devel mode');
    assert.equal(out.missing[0], -32601);
    assert.deepEqual(out.denied, [-32500, 'not for you']);
    assert.equal(out.badparams[0], -32602);
    assert.equal(out.unencodable[0], -32603);
    assert.equal(out.hidden[0], -32601);
    assert.equal(out.rpconly, 'rpc only');
    assert.ok(out.list.includes('add') && out.list.includes('hello.world') && out.list.includes('system.multicall'));
    assert.ok(!out.list.includes('hidden'));
    assert.equal(out.help, 'add(a, b) -> a + b');
    assert.equal(out.multi.length, 3);
    assert.deepEqual(out.multi[0], [3]);
    assert.equal(out.multi[1].faultCode, -32500);
    assert.deepEqual(out.multi[2], [7]);
    assert.ok(s.logLines.some((l) => l.includes('[error]') && l.includes('secret boom')), 'the app error is logged with its text');
  });

  test("Python's default /RPC2 path and a prefixed mount", async () => {
    const out = await python(
      String.raw`
import sys, json, xmlrpc.client as x
root = x.ServerProxy(sys.argv[1])          # no path: Python posts to /RPC2
test = x.ServerProxy(sys.argv[1] + '/test')
print(json.dumps([root.add(1, 1), test.test.hello.world(), test.hello.world(), test.add(2, 2)]))
`,
      s.base,
    );
    assert.deepEqual(out, [2, 'hi from hello.world', 'hi from hello.world', 4]);
  });

  test('values nested 64 levels deep (arrays and structs) go both ways; 65 get the documented -32600 fault', async () => {
    const out = await python(
      String.raw`
import sys, json, xmlrpc.client as x
p = x.ServerProxy(sys.argv[1])
def nested(levels):
    v = 'leaf'
    for i in reversed(range(levels)):
        v = [v] if i % 2 == 0 else {'k': v}
    return v
struct20 = 'leaf'
for i in range(20):
    struct20 = {'s': struct20}
out = {'struct20': p.echo(struct20) == struct20, 'ok64': p.echo(nested(64)) == nested(64)}
try:
    p.echo(nested(65))
    out['fault65'] = None
except x.Fault as e:
    out['fault65'] = [e.faultCode, e.faultString]
print(json.dumps(out))
`,
      s.base + '/',
    );
    assert.equal(out.struct20, true, 'a struct nested 20 levels (about 60 XML elements) is echoed');
    assert.equal(out.ok64, true, '64 levels of arrays and structs are echoed');
    assert.equal(out.fault65[0], -32600);
    assert.match(out.fault65[1], /^Invalid Request: XML-RPC values nested deeper than 64 levels of arrays and structs at line \d+, column \d+$/);
  });

  test('the web route still gets ordinary POSTs, and /rpconly is not on the web', async () => {
    const r = await fetch(s.base + '/form', { method: 'POST', body: new URLSearchParams('a=1') });
    assert.deepEqual(await r.json(), { got: { a: '1' }, type: 'application/x-www-form-urlencoded' });
    assert.equal((await fetch(s.base + '/rpconly')).status, 404);
    assert.equal(await (await fetch(s.base + '/hidden')).text(), 'web only');
  });
});

describe('hostile XML-RPC input', () => {
  const post = (body: string | Buffer, type = 'text/xml'): Promise<Response> =>
    fetch(s.base + '/', { method: 'POST', headers: { 'content-type': type }, body });

  const faultCode = async (r: Response): Promise<number> => {
    assert.equal(r.status, 200);
    const m = /<name>faultCode<\/name>\s*<value><int>(-?\d+)<\/int>/.exec(await r.text());
    assert.ok(m, 'a fault document');
    return Number(m![1]);
  };

  test('billion laughs and external entities are refused, never expanded', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><methodCall><methodName>echo</methodName><params><param><value>&lol2;</value></param></params></methodCall>`;
    assert.equal(await faultCode(await post(laughs)), -32700);
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>echo</methodName><params><param><value>&x;</value></param></params></methodCall>`;
    const r = await post(xxe);
    const text = await r.clone().text();
    assert.doesNotMatch(text, /root:/);
    assert.equal(await faultCode(r), -32700);
  });

  test('10,000-deep nesting, invalid UTF-8 and truncated bodies get faults; the worker keeps serving', async () => {
    const deep = `<methodCall><methodName>echo</methodName><params><param><value>${'<array><data><value>'.repeat(10_000)}1${'</value></data></array>'.repeat(10_000)}</value></param></params></methodCall>`;
    assert.ok([-32600, -32700].includes(await faultCode(await post(deep))));
    const bad = Buffer.concat([Buffer.from('<methodCall><methodName>echo</methodName><params><param><value><string>'), Buffer.from([0xc3, 0x28]), Buffer.from('</string></value></param></params></methodCall>')]);
    assert.equal(await faultCode(await post(bad)), -32700);
    assert.equal(await faultCode(await post('<methodCall><methodName>add</methodName><params><param><value><int>1')), -32700);
    assert.equal(await (await fetch(s.base + '/hello/world')).text(), 'hi from hello.world');
  });

  test('a 50 MB payload is refused with 413 before it is read', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 'a');
    const r = await post(big).catch((err: Error) => err);
    if (r instanceof Response) assert.equal(r.status, 413);
    else assert.match(String(r.cause ?? r), /EPIPE|ECONNRESET|other side closed|SocketError/);
    assert.equal(await (await fetch(s.base + '/hello/world')).text(), 'hi from hello.world');
  });
});

describe('JSON-RPC 2.0', () => {
  const call = async (body: string, type = 'application/json'): Promise<{ status: number; json: unknown }> => {
    const r = await fetch(s.base + '/', { method: 'POST', headers: { 'content-type': type }, body });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };

  // Every example of the specification, section 7, with its exact response.
  const examples: Array<[string, string, unknown]> = [
    ['positional', '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}', { jsonrpc: '2.0', result: 19, id: 1 }],
    ['positional reversed', '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}', { jsonrpc: '2.0', result: -19, id: 2 }],
    ['named', '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}', { jsonrpc: '2.0', result: 19, id: 3 }],
    ['named reordered', '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}', { jsonrpc: '2.0', result: 19, id: 4 }],
    ['notification', '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', undefined],
    ['notification without params', '{"jsonrpc": "2.0", "method": "foobar"}', undefined],
    ['non-existent method', '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}', { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '1' }],
    ['invalid JSON', '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }],
    ['invalid Request object', '{"jsonrpc": "2.0", "method": 1, "params": "bar"}', { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null }],
    ['batch, invalid JSON', '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]', { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }],
    ['empty array', '[]', { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null }],
    ['invalid batch, not empty', '[1]', [{ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null }]],
    ['invalid batch', '[1,2,3]', [1, 2, 3].map(() => ({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null }))],
    [
      'mixed batch',
      `[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}]`,
      [
        { jsonrpc: '2.0', result: 7, id: '1' },
        { jsonrpc: '2.0', result: 19, id: '2' },
        { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
        { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '5' },
        { jsonrpc: '2.0', result: ['hello', 5], id: '9' },
      ],
    ],
    ['all notifications', '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]', undefined],
  ];
  for (const [name, body, expected] of examples) {
    test(`spec example: ${name}`, async () => {
      const r = await call(body);
      if (expected === undefined) {
        assert.equal(r.status, 204);
        assert.equal(r.json, undefined);
      } else {
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, expected);
      }
    });
  }

  test('ids of every allowed type are echoed exactly; app errors are -32000 without internals', async () => {
    for (const id of ['abc', 0, -1.5, null]) {
      const r = await call(JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id }));
      assert.deepEqual(r.json, { jsonrpc: '2.0', result: 3, id });
    }
    const fail = await call('{"jsonrpc":"2.0","method":"fail","id":7}', 'application/json-rpc');
    assert.deepEqual(fail.json, { jsonrpc: '2.0', error: { code: -32000, message: 'Server error' }, id: 7 });
  });

  test('the jayson client: calls, named params, batches and errors', async () => {
    const client = jayson.Client.http({ host: '127.0.0.1', port: s.port, path: '/test/' });
    const request = (method: string, params: unknown): Promise<any> =>
      new Promise((resolve, reject) => client.request(method, params as any, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
    assert.equal((await request('add', [5, 6])).result, 11);
    assert.equal((await request('test.subtract', { minuend: 10, subtrahend: 4 })).result, 6);
    assert.equal((await request('nope', [])).error.code, -32601);
    const batch: any[] = await new Promise((resolve, reject) =>
      client.request([client.request('add', [1, 1], 'a'), client.request('get_data', [], 'b')] as any, (err: unknown, res: any) => (err ? reject(err) : resolve(res))),
    );
    assert.deepEqual(batch.map((r) => r.result).sort(), [2, ['hello', 5]].sort());
  });
});
