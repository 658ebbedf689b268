import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isSkitaiError, type ErrorCode } from '../../src/errors.js';
import { RpcFault, RpcFaultCode } from '../../src/rpc/fault.js';
import { runMulticall } from '../../src/rpc/multicall.js';
import { parseMethodCall, parseMethodResponse, serializeFault, serializeMethodCall, serializeMethodResponse } from '../../src/rpc/xmlrpc.js';

function throwsCode(fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSkitaiError(err, code), `expected ${code}, got ${String(err)}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

const hasPython = ((): boolean => {
  try {
    execFileSync('python3', ['-c', 'import xmlrpc.client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function python(code: string, input?: string): string {
  return execFileSync('python3', ['-c', code], { input, encoding: 'utf8' });
}

function roundTrip(value: unknown): unknown {
  const viaCall = parseMethodCall(serializeMethodCall('echo', [value])).params[0];
  const viaResponse = parseMethodResponse(serializeMethodResponse(value));
  assert.ok('value' in viaResponse);
  assert.deepEqual(viaResponse.value, viaCall);
  return viaCall;
}

test('every type survives a round trip', () => {
  const when = new Date(Date.UTC(1998, 6, 17, 14, 8, 55));
  const cases: [unknown, unknown][] = [
    [0, 0],
    [-0, 0],
    [42, 42],
    [2 ** 31 - 1, 2 ** 31 - 1],
    [-(2 ** 31), -(2 ** 31)],
    [2 ** 31, 2 ** 31], // past int32: sent as <i8>, back to a number
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    [2n ** 63n - 1n, 2n ** 63n - 1n],
    [-(2n ** 63n), -(2n ** 63n)],
    [5n, 5], // a small BigInt comes back as a number: safe integers always do
    [1.5, 1.5],
    [-0.1, -0.1],
    [1e21, 1e21],
    [5e-324, 5e-324],
    [true, true],
    [false, false],
    ['', ''],
    ['plain', 'plain'],
    ['<&>"\' ]]> \t\n\r\n\r', '<&>"\' ]]> \t\n\r\n\r'],
    ['héllo ✓ 😀 \uE000', 'héllo ✓ 😀 \uE000'],
    [when, when],
    [Buffer.from([0, 1, 2, 255]), Buffer.from([0, 1, 2, 255])],
    [new Uint8Array([9, 8]), Buffer.from([9, 8])],
    [new Uint8Array([1, 2, 3, 4]).subarray(1, 3), Buffer.from([2, 3])],
    [new ArrayBuffer(2), Buffer.alloc(2)],
    [Buffer.alloc(0), Buffer.alloc(0)],
    [null, null],
    [[], []],
    [{}, {}],
    [[1, 'a', null, undefined, [true]], [1, 'a', null, null, [true]]],
    [{ a: 1, b: { c: [{ d: 'e' }] }, skipped: undefined, 'we<ird>&': 2 }, { a: 1, b: { c: [{ d: 'e' }] }, 'we<ird>&': 2 }],
    [Object.assign(Object.create(null) as object, { x: 1 }), { x: 1 }],
  ];
  cases.forEach(([input, expected], i) => assert.deepEqual(roundTrip(input), expected, `round trip of case ${i}`));
  // Holes in sparse arrays are nil, like undefined.
  assert.deepEqual(roundTrip([1, , 3]), [1, null, 3]); // eslint-disable-line no-sparse-arrays
  // Shared (non-cyclic) references are fine.
  const shared = [1];
  assert.deepEqual(roundTrip({ a: shared, b: shared }), { a: [1], b: [1] });
});

test('integers pick int, i8 or double by range', () => {
  const enc = (v: unknown): string => serializeMethodResponse(v).split('\n')[4]!;
  assert.equal(enc(2147483647), '<value><int>2147483647</int></value>');
  assert.equal(enc(2147483648), '<value><i8>2147483648</i8></value>');
  assert.equal(enc(-2147483649), '<value><i8>-2147483649</i8></value>');
  assert.equal(enc(2 ** 62), '<value><i8>4611686018427387904</i8></value>');
  assert.equal(enc(2 ** 63), '<value><double>9223372036854776000</double></value>');
  assert.equal(enc(7n), '<value><i8>7</i8></value>');
  assert.equal(enc(0.5), '<value><double>0.5</double></value>');
  const big = parseMethodResponse('<methodResponse><params><param><value><i8>9007199254740993</i8></value></param></params></methodResponse>');
  assert.deepEqual(big, { value: 9007199254740993n });
});

test('decodes the exact XML that Python xmlrpc.client.dumps produces', { skip: !hasPython && 'python3 not installed' }, () => {
  const call = python(
    'import xmlrpc.client as x, datetime, sys\n' +
      'sys.stdout.write(x.dumps((1, -5, 2.5, float("inf"), True, False, "h\\u00e9llo <&> \\"q\\" \\u2713", "line1\\nline2", "",' +
      ' [1, "a", [None]], {"a": 1, "b": {"c": []}, "__proto__": 7}, x.Binary(bytes(range(256))),' +
      ' datetime.datetime(1998, 7, 17, 14, 8, 55), None, 2**31 - 1), "x.y", allow_none=True))',
  );
  const parsed = parseMethodCall(Buffer.from(call, 'utf8'));
  assert.equal(parsed.method, 'x.y');
  const proto = JSON.parse('{"a": 1, "b": {"c": []}, "__proto__": 7}') as unknown;
  assert.deepEqual(parsed.params, [
    1, -5, 2.5, Infinity, true, false, 'héllo <&> "q" ✓', 'line1\nline2', '',
    [1, 'a', [null]], proto, Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    new Date(Date.UTC(1998, 6, 17, 14, 8, 55)), null, 2147483647,
  ]);
  // "__proto__" from the wire is an own key; the prototype is untouched.
  const struct = parsed.params[10] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(struct), Object.prototype);
  assert.ok(Object.hasOwn(struct, '__proto__'));

  const response = python('import xmlrpc.client as x, sys\nsys.stdout.write(x.dumps(({"ok": [1, 2.0, "3"]},), methodresponse=True))');
  assert.deepEqual(parseMethodResponse(response), { value: { ok: [1, 2, '3'] } });
  const fault = python('import xmlrpc.client as x, sys\nsys.stdout.write(x.dumps(x.Fault(-32601, "no such <method> & more")))');
  assert.deepEqual(parseMethodResponse(fault), { fault: { faultCode: -32601, faultString: 'no such <method> & more' } });
  const noParams = python('import xmlrpc.client as x, sys\nsys.stdout.write(x.dumps((), "system.listMethods"))');
  assert.deepEqual(parseMethodCall(noParams), { method: 'system.listMethods', params: [] });
});

test('Python xmlrpc.client.loads reads what we serialize', { skip: !hasPython && 'python3 not installed' }, () => {
  const reader =
    'import sys, json, datetime, xmlrpc.client as x\n' +
    'def tag(v):\n' +
    '  if isinstance(v, bytes): return {"bytes": v.hex()}\n' +
    '  if isinstance(v, datetime.datetime): return {"dt": v.isoformat()}\n' +
    '  if isinstance(v, bool) or v is None or isinstance(v, str): return v\n' +
    '  if isinstance(v, int): return {"int": str(v)}\n' +
    '  if isinstance(v, float): return {"float": repr(v)}\n' +
    '  if isinstance(v, list): return [tag(i) for i in v]\n' +
    '  if isinstance(v, dict): return {k: tag(i) for k, i in v.items()}\n' +
    '  raise TypeError(type(v))\n' +
    'try:\n' +
    '  params, method = x.loads(sys.stdin.buffer.read(), use_builtin_types=True)\n' +
    '  print(json.dumps({"method": method, "params": tag(list(params))}))\n' +
    'except x.Fault as f:\n' +
    '  print(json.dumps({"fault": [f.faultCode, f.faultString]}))\n';
  const call = serializeMethodCall('a.b', [7, 2 ** 40, -(2n ** 63n), 0.25, true, 'x & <y> \r\n ✓', new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 999)), Buffer.from('hi'), { k: [null, 'v'] }, null]);
  assert.deepEqual(JSON.parse(python(reader, call)), {
    method: 'a.b',
    params: [
      { int: '7' }, { int: '1099511627776' }, { int: '-9223372036854775808' }, { float: '0.25' }, true, 'x & <y> \r\n ✓',
      { dt: '2024-02-29T23:59:58' }, { bytes: '6869' }, { k: [null, 'v'] }, null,
    ],
  });
  assert.deepEqual(JSON.parse(python(reader, serializeMethodResponse([1, 'two']))), { method: null, params: [[{ int: '1' }, 'two']] });
  assert.deepEqual(JSON.parse(python(reader, serializeFault(-32500, 'boom <&> \u0000'))), { fault: [-32500, 'boom <&> \uFFFD'] });
});

test('decodes untyped values, ISO dates, namespaced extensions and liberal spellings', () => {
  const value = (inner: string): unknown => {
    const r = parseMethodResponse(`<?xml version="1.0"?><methodResponse><params><param><value>${inner}</value></param></params></methodResponse>`);
    assert.ok('value' in r);
    return r.value;
  };
  assert.equal(value(' untyped text '), ' untyped text ');
  assert.equal(value(''), '');
  assert.equal(value('<string/>'), '');
  assert.equal(value('\n  <int> 12 </int>\n'), 12);
  assert.equal(value('<i4>-3</i4>'), -3);
  assert.equal(value('<ex:i8>9</ex:i8>'), 9);
  assert.equal(value('<ex:nil/>'), null);
  assert.equal(value('<boolean>true</boolean>'), true);
  assert.equal(value('<double>-1.5e3</double>'), -1500);
  assert.ok(Number.isNaN(value('<double>nan</double>')));
  assert.equal(value('<double>-inf</double>'), -Infinity);
  const utc = Date.UTC(1998, 6, 17, 14, 8, 55);
  assert.deepEqual(value('<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>'), new Date(utc));
  assert.deepEqual(value('<dateTime.iso8601>1998-07-17T14:08:55</dateTime.iso8601>'), new Date(utc));
  assert.deepEqual(value('<dateTime.iso8601>1998-07-17T14:08:55Z</dateTime.iso8601>'), new Date(utc));
  assert.deepEqual(value('<dateTime.iso8601>19980717T140855</dateTime.iso8601>'), new Date(utc));
  assert.deepEqual(value('<dateTime.iso8601>1998-07-17T14:08:55.25+02:00</dateTime.iso8601>'), new Date(utc - 2 * 3600_000 + 250));
  assert.deepEqual(value('<dateTime.iso8601>0005-01-01T00:00:00</dateTime.iso8601>'), new Date('0005-01-01T00:00:00Z'));
  assert.deepEqual(value('<base64>aG\n  k=</base64>'), Buffer.from('hi'));
  assert.deepEqual(value('<array/>'), []);
  assert.deepEqual(value('<struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct>'), { a: '2' });
  assert.deepEqual(value('<struct><member><name>x</name><value><i4>1</i4></value></member><!-- c --></struct>'), { x: 1 });
});

test('rejects well-formed XML that is not XML-RPC', () => {
  const call = (inner: string): unknown => parseMethodCall(`<methodCall><methodName>m</methodName><params><param><value>${inner}</value></param></params></methodCall>`);
  throwsCode(() => call('<int>1.5</int>'), 'SKT_RPC_INVALID', /bad <int> value "1.5"/);
  throwsCode(() => call('<int>' + '9'.repeat(41) + '</int>'), 'SKT_RPC_INVALID');
  throwsCode(() => call('<boolean>2</boolean>'), 'SKT_RPC_INVALID', /bad <boolean>/);
  throwsCode(() => call('<double>1,5</double>'), 'SKT_RPC_INVALID', /bad <double>/);
  throwsCode(() => call('<dateTime.iso8601>19981317T14:08:55</dateTime.iso8601>'), 'SKT_RPC_INVALID', /dateTime/);
  throwsCode(() => call('<dateTime.iso8601>19990229T00:00:00</dateTime.iso8601>'), 'SKT_RPC_INVALID', /dateTime/);
  throwsCode(() => call('<dateTime.iso8601>yesterday</dateTime.iso8601>'), 'SKT_RPC_INVALID', /dateTime/);
  throwsCode(() => call('<base64>not base64!</base64>'), 'SKT_RPC_INVALID', /base64/);
  throwsCode(() => call('<nil>x</nil>'), 'SKT_RPC_INVALID', /nil/);
  throwsCode(() => call('<float128>1</float128>'), 'SKT_RPC_INVALID', /unknown value type <float128>/);
  throwsCode(() => call('<int>1</int><int>2</int>'), 'SKT_RPC_INVALID', /exactly one type/);
  throwsCode(() => call('text<int>1</int>'), 'SKT_RPC_INVALID', /unexpected text/);
  throwsCode(() => call('<string><b>x</b></string>'), 'SKT_RPC_INVALID', /<b> is not allowed inside <string>/);
  throwsCode(() => call('<struct><member><name>a</name></member></struct>'), 'SKT_RPC_INVALID', /<member> must hold/);
  throwsCode(() => call('<struct><value/></struct>'), 'SKT_RPC_INVALID', /expected <member>/);
  throwsCode(() => call('<array><value/></array>'), 'SKT_RPC_INVALID', /expected <data> inside <array>/);
  throwsCode(() => parseMethodCall('<methodResponse/>'), 'SKT_RPC_INVALID', /expected <methodCall>/);
  throwsCode(() => parseMethodCall('<methodCall><params/></methodCall>'), 'SKT_RPC_INVALID', /<methodName> first/);
  throwsCode(() => parseMethodCall('<methodCall><methodName>a b</methodName></methodCall>'), 'SKT_RPC_INVALID', /bad method name/);
  throwsCode(() => parseMethodCall('<methodCall><methodName>a</methodName><params><value/></params></methodCall>'), 'SKT_RPC_INVALID', /expected <param>/);
  throwsCode(() => parseMethodCall('<methodCall><methodName>a</methodName><extra/></methodCall>'), 'SKT_RPC_INVALID');
  // The error names where: line 3 is the <int>.
  throwsCode(() => parseMethodCall('<methodCall>\n<methodName>m</methodName><params><param>\n<value><int>x</int></value></param></params></methodCall>'), 'SKT_RPC_INVALID', /line 3, column 8/);
});

/** `levels` arrays and structs, alternating, around the integer 1: `[{ k: [{ k: … 1 }] }]`. */
function nestedValue(levels: number): unknown {
  let v: unknown = 1;
  for (let i = levels - 1; i >= 0; i--) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

test('the nesting limit counts arrays and structs, not XML elements: 64 levels pass, 65 are refused', () => {
  // The case from the issue: a struct 20 levels deep is about 60 elements, and must pass.
  let struct: unknown = 'leaf';
  for (let i = 0; i < 20; i++) struct = { s: struct };
  assert.deepEqual(parseMethodCall(serializeMethodCall('m', [struct])).params, [struct]);
  for (const levels of [63, 64]) {
    assert.deepEqual(parseMethodCall(serializeMethodCall('m', [nestedValue(levels)])).params, [nestedValue(levels)]);
    assert.deepEqual(parseMethodResponse(serializeMethodResponse(nestedValue(levels))), { value: nestedValue(levels) });
  }
  throwsCode(() => parseMethodCall(serializeMethodCall('m', [nestedValue(65)])), 'SKT_RPC_LIMIT', /nested deeper than 64 levels of arrays and structs at line \d+/);
  throwsCode(() => parseMethodResponse(serializeMethodResponse(nestedValue(65))), 'SKT_RPC_RESPONSE', /nested deeper than 64 levels/);
  // Only arrays and structs count: 64 levels with a param next to them, and siblings, change nothing.
  assert.equal(parseMethodCall(serializeMethodCall('m', ['a', nestedValue(64), [nestedValue(63), {}]])).params.length, 3);
  // `maxDepth` counts the same way.
  assert.deepEqual(parseMethodCall(serializeMethodCall('m', [[[1]], 5]), { maxDepth: 2 }).params, [[[1]], 5]);
  throwsCode(() => parseMethodCall(serializeMethodCall('m', [[[[1]]]]), { maxDepth: 2 }), 'SKT_RPC_LIMIT', /deeper than 2 levels/);
  assert.deepEqual(parseMethodCall(serializeMethodCall('m', [1, 'x']), { maxDepth: 0 }).params, [1, 'x']);
  throwsCode(() => parseMethodCall(serializeMethodCall('m', [[]]), { maxDepth: 0 }), 'SKT_RPC_LIMIT');
});

test('parseMethodCall applies the XML limits and rejects unsafe or truncated bodies', () => {
  let nested = '<value><array><data>'.repeat(10_000) + '</data></array></value>'.repeat(10_000);
  nested = `<methodCall><methodName>m</methodName><params><param>${nested}</param></params></methodCall>`;
  throwsCode(() => parseMethodCall(nested), 'SKT_RPC_LIMIT', /deeper than 64 levels/);
  assert.equal(parseMethodCall(nested, { maxDepth: 10_000 }).method, 'm');
  // Elements that are no XML-RPC value cannot nest deeply either: they are refused where they start.
  const junk = `<methodCall><methodName>m</methodName><params><param><value>${'<value>'.repeat(10_000)}</value></param></params></methodCall>`;
  throwsCode(() => parseMethodCall(junk), 'SKT_RPC_INVALID', /unknown value type <value>/);
  throwsCode(() => parseMethodCall(serializeMethodCall('m', ['x'.repeat(1000)]), { maxBytes: 500 }), 'SKT_RPC_LIMIT');
  throwsCode(() => parseMethodCall('<!DOCTYPE m [<!ENTITY e "x">]><methodCall><methodName>&e;</methodName></methodCall>'), 'SKT_RPC_PARSE', /DOCTYPE/);
  const full = serializeMethodCall('m', [{ a: [1, 'b'] }]);
  throwsCode(() => parseMethodCall(full.slice(0, full.length - 20)), 'SKT_RPC_PARSE', /unexpected end of document/);
  throwsCode(() => parseMethodCall(Buffer.from([...Buffer.from('<methodCall><methodName>'), 0xff, ...Buffer.from('</methodName></methodCall>')])), 'SKT_RPC_PARSE', /UTF-8/);
});

test('parseMethodResponse turns garbage into SKT_RPC_RESPONSE that says what came back', () => {
  throwsCode(() => parseMethodResponse('<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>'), 'SKT_RPC_RESPONSE', /an HTML page starting "<!DOCTYPE html> <html><body><h1>502 Bad Gateway/);
  throwsCode(() => parseMethodResponse('<html><body>oops</body></html>'), 'SKT_RPC_RESPONSE', /an HTML page .*expected <methodResponse>/);
  throwsCode(() => parseMethodResponse(''), 'SKT_RPC_RESPONSE', /an empty body/);
  throwsCode(() => parseMethodResponse(Buffer.from('{"error": "x"}')), 'SKT_RPC_RESPONSE', /a JSON-like body/);
  throwsCode(() => parseMethodResponse('<methodResponse><params/></methodResponse>'), 'SKT_RPC_RESPONSE', /exactly one <param>, found 0/);
  throwsCode(() => parseMethodResponse('<methodResponse><fault><value><int>1</int></value></fault></methodResponse>'), 'SKT_RPC_RESPONSE', /must be a <struct>/);
  throwsCode(() => parseMethodResponse('<methodResponse><fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>'), 'SKT_RPC_RESPONSE', /integer faultCode/);
  throwsCode(() => parseMethodResponse(serializeMethodResponse('x').slice(0, 60)), 'SKT_RPC_RESPONSE', /an XML document starting/);
});

test('refuses to encode what XML-RPC cannot carry, with SKT_RPC_ENCODE and a path', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  class Point {
    x = 1;
  }
  const cases: [unknown, RegExp][] = [
    [undefined, /result: undefined cannot be encoded/],
    [() => 1, /a function cannot be encoded/],
    [{ f: () => 1 }, /result\.f: a function/],
    [Symbol('s'), /a symbol/],
    [cyclic, /result\.self\.back: a cycle/],
    [NaN, /NaN cannot be encoded/],
    [[Infinity], /result\[0\]: Infinity/],
    [new Date(NaN), /invalid Date/],
    [new Date(Date.UTC(10000, 0, 1)), /year 10000/],
    [2n ** 63n, /does not fit in a 64-bit <i8>/],
    [new Map(), /a Map object cannot be encoded/],
    [new Point(), /a Point object/],
    ['nul \u0000 byte', /U\+0000 at index 4/],
    ['lone \uD800', /U\+D800/],
    [{ 'bad\u0001key': 1 }, /result key: string has U\+0001/],
  ];
  for (const [value, pattern] of cases) throwsCode(() => serializeMethodResponse(value), 'SKT_RPC_ENCODE', pattern);
  throwsCode(() => serializeMethodCall('has space', []), 'SKT_RPC_ENCODE', /method name/);
  throwsCode(() => serializeMethodCall('m', [1, NaN]), 'SKT_RPC_ENCODE', /param 1/);
  // An undefined param is nil, like an array item.
  assert.deepEqual(parseMethodCall(serializeMethodCall('m', [undefined, 1])).params, [null, 1]);
  // Deep but acyclic values fail cleanly instead of overflowing the stack.
  let deep: unknown[] = [];
  for (let i = 0; i < 5000; i++) deep = [deep];
  throwsCode(() => serializeMethodResponse(deep), 'SKT_RPC_ENCODE', /nesting deeper than 1000/);
});

test('serializeFault never throws and round-trips', () => {
  assert.deepEqual(parseMethodResponse(serializeFault(RpcFaultCode.METHOD_NOT_FOUND, 'no <such> & method')), {
    fault: { faultCode: -32601, faultString: 'no <such> & method' },
  });
  assert.deepEqual(parseMethodResponse(serializeFault(NaN, 'x\u0000\r\ny')), { fault: { faultCode: -32603, faultString: 'x\uFFFD\r\ny' } });
  assert.deepEqual(parseMethodResponse(serializeFault(2 ** 40, '')), { fault: { faultCode: -32603, faultString: '' } });
});

test('system.multicall runs calls in order and isolates faults', async () => {
  const seen: string[] = [];
  const invoke = (method: string, params: unknown[]): unknown => {
    seen.push(method);
    if (method === 'add') return (params[0] as number) + (params[1] as number);
    if (method === 'nothing') return undefined;
    if (method === 'bigint') return 2n ** 64n;
    if (method === 'boom') throw new Error('secret detail');
    throw new RpcFault(RpcFaultCode.METHOD_NOT_FOUND, `no method ${method}`);
  };
  const result = await runMulticall(
    [[
      { methodName: 'add', params: [1, 2] },
      { methodName: 'nothing', params: [] },
      { methodName: 'missing', params: [] },
      { methodName: 'boom' },
      { methodName: 'bigint', params: [] },
      { methodName: 'system.multicall', params: [[]] },
      'junk',
    ]],
    invoke,
  );
  assert.deepEqual(result, [
    [3],
    [null],
    { faultCode: -32601, faultString: 'no method missing' },
    { faultCode: -32500, faultString: 'Server error' },
    { faultCode: -32603, faultString: 'Internal error: XML-RPC cannot encode the result of bigint: BigInt 18446744073709551616 does not fit in a 64-bit <i8>' },
    { faultCode: -32600, faultString: 'recursive system.multicall is not allowed' },
    { faultCode: -32600, faultString: 'each system.multicall entry must be a struct' },
  ]);
  assert.deepEqual(seen, ['add', 'nothing', 'missing', 'boom', 'bigint']);
  // The whole answer serializes.
  assert.ok('value' in parseMethodResponse(serializeMethodResponse(result)));
  await assert.rejects(runMulticall(['not an array'], invoke), (err: unknown) => err instanceof RpcFault && err.faultCode === -32602);
});
