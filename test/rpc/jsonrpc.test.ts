import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSkitaiError, type ErrorCode } from '../../src/errors.js';
import { RpcFault, RpcFaultCode } from '../../src/rpc/fault.js';
import {
  errorResponse,
  parseJsonRpc,
  parseResponse,
  respondJsonRpc,
  serializeRequest,
  successResponse,
  type JsonRpcParams,
} from '../../src/rpc/jsonrpc.js';

function throwsCode(fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSkitaiError(err, code), `expected ${code}, got ${String(err)}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** The methods of the spec's section 7 examples; records every call, notifications included. */
function specServer(): { calls: string[]; invoke: (method: string, params: JsonRpcParams | undefined) => Promise<unknown> } {
  const calls: string[] = [];
  const invoke = async (method: string, params: JsonRpcParams | undefined): Promise<unknown> => {
    calls.push(method);
    const list = Array.isArray(params) ? (params as number[]) : [];
    switch (method) {
      case 'subtract':
        if (Array.isArray(params)) return list[0]! - list[1]!;
        return (params as { minuend: number; subtrahend: number }).minuend - (params as { subtrahend: number }).subtrahend;
      case 'sum':
      case 'notify_sum':
        return list.reduce((a, b) => a + b, 0);
      case 'get_data':
        return ['hello', 5];
      case 'update':
      case 'notify_hello':
        return undefined;
      default:
        throw new RpcFault(RpcFaultCode.METHOD_NOT_FOUND, 'Method not found');
    }
  };
  return { calls, invoke };
}

/** Sends `body` through parse + respond; returns the parsed response (undefined when nothing is sent). */
async function exchange(body: string, server = specServer()): Promise<unknown> {
  const out = await respondJsonRpc(parseJsonRpc(body), server.invoke);
  return out === null ? undefined : JSON.parse(out);
}

test('spec 7: rpc call with positional parameters', async () => {
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}'), { jsonrpc: '2.0', result: 19, id: 1 });
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}'), { jsonrpc: '2.0', result: -19, id: 2 });
});

test('spec 7: rpc call with named parameters', async () => {
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}'), { jsonrpc: '2.0', result: 19, id: 3 });
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}'), { jsonrpc: '2.0', result: 19, id: 4 });
});

test('spec 7: a notification is run and answered with nothing', async () => {
  const server = specServer();
  assert.equal(await respondJsonRpc(parseJsonRpc('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}'), server.invoke), null);
  assert.equal(await respondJsonRpc(parseJsonRpc('{"jsonrpc": "2.0", "method": "foobar"}'), server.invoke), null);
  assert.deepEqual(server.calls, ['update', 'foobar']);
});

test('spec 7: rpc call of non-existent method', async () => {
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}'), {
    jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '1',
  });
});

test('spec 7: rpc call with invalid JSON', async () => {
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'), {
    jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null,
  });
});

test('spec 7: rpc call with invalid Request object', async () => {
  assert.deepEqual(await exchange('{"jsonrpc": "2.0", "method": 1, "params": "bar"}'), {
    jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null,
  });
});

test('spec 7: rpc call Batch, invalid JSON', async () => {
  const body = '[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},\n  {"jsonrpc": "2.0", "method"\n]';
  assert.deepEqual(await exchange(body), { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
});

test('spec 7: rpc call with an empty Array', async () => {
  assert.deepEqual(await exchange('[]'), { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null });
});

test('spec 7: rpc call with an invalid Batch (but not empty)', async () => {
  const invalid = { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null };
  assert.deepEqual(await exchange('[1]'), [invalid]);
  assert.deepEqual(await exchange('[1,2,3]'), [invalid, invalid, invalid]);
});

test('spec 7: rpc call Batch', async () => {
  const server = specServer();
  const body = `[
    {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
    {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
    {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
    {"foo": "boo"},
    {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
    {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
  ]`;
  assert.deepEqual(await exchange(body, server), [
    { jsonrpc: '2.0', result: 7, id: '1' },
    { jsonrpc: '2.0', result: 19, id: '2' },
    { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
    { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '5' },
    { jsonrpc: '2.0', result: ['hello', 5], id: '9' },
  ]);
  assert.deepEqual(server.calls.sort(), ['foo.get', 'get_data', 'notify_hello', 'subtract', 'sum']);
});

test('spec 7: rpc call Batch (all notifications) returns nothing', async () => {
  const server = specServer();
  const body = '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]';
  assert.equal(await respondJsonRpc(parseJsonRpc(body), server.invoke), null);
  assert.deepEqual(server.calls, ['notify_sum', 'notify_hello']);
});

test('parseJsonRpc tells notifications from id:null and validates every member', () => {
  const one = (body: string): unknown => {
    const input = parseJsonRpc(body);
    assert.equal(input.kind, 'single');
    return input.kind === 'single' ? input.entry : undefined;
  };
  assert.deepEqual(one('{"jsonrpc":"2.0","method":"m","id":null}'), { kind: 'request', method: 'm', params: undefined, id: null, notification: false });
  assert.deepEqual(one('{"jsonrpc":"2.0","method":"m"}'), { kind: 'request', method: 'm', params: undefined, id: undefined, notification: true });
  assert.deepEqual(one('{"jsonrpc":"2.0","method":"m","params":{},"id":"x"}'), { kind: 'request', method: 'm', params: {}, id: 'x', notification: false });
  const invalid = [
    '"just a string"', 'null', '{"method":"m","id":1}', '{"jsonrpc":"1.0","method":"m","id":1}', '{"jsonrpc":2.0,"method":"m","id":1}',
    '{"jsonrpc":"2.0","id":1}', '{"jsonrpc":"2.0","method":"m","params":"x","id":1}', '{"jsonrpc":"2.0","method":"m","params":null,"id":1}',
    '{"jsonrpc":"2.0","method":"m","params":3,"id":1}', '{"jsonrpc":"2.0","method":"m","id":{}}', '{"jsonrpc":"2.0","method":"m","id":[1]}',
    '{"jsonrpc":"2.0","method":"m","id":true}',
  ];
  for (const body of invalid) assert.equal((one(body) as { kind: string }).kind, 'invalid', body);
  assert.equal(parseJsonRpc(Buffer.from([0x7b, 0xff, 0x7d])).kind, 'parse-error');
  assert.equal(parseJsonRpc('').kind, 'parse-error');
  assert.deepEqual(parseJsonRpc(Buffer.from('\uFEFF{"jsonrpc":"2.0","method":"m"}')).kind, 'single');
  const tooMany = JSON.stringify(Array.from({ length: 3 }, () => ({ jsonrpc: '2.0', method: 'm' })));
  assert.deepEqual(parseJsonRpc(tooMany, { maxBatch: 2 }), { kind: 'single', entry: { kind: 'invalid', reason: 'batch of 3 calls exceeds the limit of 2' } });
  // Deep JSON neither crashes the parser nor counts as anything but params.
  const deep = '{"jsonrpc":"2.0","method":"m","params":' + '['.repeat(100_000) + ']'.repeat(100_000) + ',"id":1}';
  assert.equal(parseJsonRpc(deep).kind, 'single');
});

test('ids are echoed exactly; id null gets an answer; undefined results become null', async () => {
  const invoke = async (method: string): Promise<unknown> => (method === 'void' ? undefined : 'ok');
  const send = async (body: string): Promise<unknown> => JSON.parse((await respondJsonRpc(parseJsonRpc(body), invoke)) ?? 'null');
  assert.deepEqual(await send('{"jsonrpc":"2.0","method":"m","id":null}'), { jsonrpc: '2.0', result: 'ok', id: null });
  assert.deepEqual(await send('{"jsonrpc":"2.0","method":"m","id":-1.5}'), { jsonrpc: '2.0', result: 'ok', id: -1.5 });
  assert.deepEqual(await send('{"jsonrpc":"2.0","method":"m","id":"a\\"b\\u00e9"}'), { jsonrpc: '2.0', result: 'ok', id: 'a"bé' });
  assert.deepEqual(await send('{"jsonrpc":"2.0","method":"void","id":0}'), { jsonrpc: '2.0', result: null, id: 0 });
});

test('unencodable results become -32603 for that call only; app errors map to -32000', async () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const invoke = async (method: string): Promise<unknown> => {
    if (method === 'bigint') return 10n;
    if (method === 'cycle') return cyclic;
    if (method === 'fn') return () => 1;
    if (method === 'fault') throw new RpcFault(-32042, 'Quota exceeded', { retryAfter: 30 });
    if (method === 'boom') throw new Error('database password is hunter2');
    return 1;
  };
  const body = JSON.stringify(['bigint', 'cycle', 'fn', 'fault', 'boom', 'ok'].map((method, id) => ({ jsonrpc: '2.0', method, id })));
  const out = JSON.parse((await respondJsonRpc(parseJsonRpc(body), invoke)) ?? 'null') as unknown;
  assert.deepEqual(out, [
    { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: 0 },
    { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: 1 },
    { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: 2 },
    { jsonrpc: '2.0', error: { code: -32042, message: 'Quota exceeded', data: { retryAfter: 30 } }, id: 3 },
    { jsonrpc: '2.0', error: { code: -32000, message: 'Server error' }, id: 4 },
    { jsonrpc: '2.0', result: 1, id: 5 },
  ]);
  // Devel mode shows details: codec reasons as data, app errors' messages and stacks.
  const devel = JSON.parse((await respondJsonRpc(parseJsonRpc(body), invoke, { expose: true })) ?? 'null') as { error?: { message: string; data?: unknown } }[];
  assert.match(String(devel[0]!.error!.data), /BigInt/);
  assert.equal(devel[4]!.error!.message, 'Error: database password is hunter2');
  assert.match(String((devel[4]!.error!.data as { stack: string }).stack), /hunter2/);
  const parseError = JSON.parse((await respondJsonRpc(parseJsonRpc('{'), invoke, { expose: true })) ?? 'null') as { error: { data: string } };
  assert.match(parseError.error.data, /JSON/);
  // A custom mapping wins over the default.
  const mapped = await respondJsonRpc(parseJsonRpc('{"jsonrpc":"2.0","method":"boom","id":7}'), invoke, { mapError: () => ({ code: -32099, message: 'mapped' }) });
  assert.deepEqual(JSON.parse(mapped ?? 'null'), { jsonrpc: '2.0', error: { code: -32099, message: 'mapped' }, id: 7 });
  // A mapping that throws falls back to the default rather than losing the answer.
  const broken = await respondJsonRpc(parseJsonRpc('{"jsonrpc":"2.0","method":"boom","id":8}'), invoke, { mapError: () => { throw new Error('bug'); } });
  assert.deepEqual(JSON.parse(broken ?? 'null'), { jsonrpc: '2.0', error: { code: -32000, message: 'Server error' }, id: 8 });
  // A failing notification is silent.
  assert.equal(await respondJsonRpc(parseJsonRpc('{"jsonrpc":"2.0","method":"boom"}'), invoke), null);
});

test('successResponse and errorResponse build spec-shaped objects', () => {
  assert.equal(successResponse(1, { a: [1] }), '{"jsonrpc":"2.0","result":{"a":[1]},"id":1}');
  assert.equal(successResponse('x', undefined), '{"jsonrpc":"2.0","result":null,"id":"x"}');
  throwsCode(() => successResponse(1, 1n), 'SKT_RPC_ENCODE', /BigInt/);
  assert.equal(errorResponse(null, -32000, 'bad', { why: 'x' }), '{"jsonrpc":"2.0","error":{"code":-32000,"message":"bad","data":{"why":"x"}},"id":null}');
  assert.equal(errorResponse(2, -32000, 'bad', 1n), '{"jsonrpc":"2.0","error":{"code":-32000,"message":"bad"},"id":2}');
});

test('client: serializeRequest builds calls and notifications', () => {
  assert.deepEqual(JSON.parse(serializeRequest('subtract', [42, 23], 1)), { jsonrpc: '2.0', method: 'subtract', params: [42, 23], id: 1 });
  assert.deepEqual(JSON.parse(serializeRequest('get_data', undefined, null)), { jsonrpc: '2.0', method: 'get_data', id: null });
  const notification = JSON.parse(serializeRequest('update', { a: 1 })) as Record<string, unknown>;
  assert.deepEqual(notification, { jsonrpc: '2.0', method: 'update', params: { a: 1 } });
  assert.ok(!Object.hasOwn(notification, 'id'));
  throwsCode(() => serializeRequest('m', [1n], 1), 'SKT_RPC_ENCODE', /params of m.*BigInt/);
  throwsCode(() => serializeRequest('m', 'x' as unknown as unknown[], 1), 'SKT_RPC_ENCODE', /array or an object/);
  throwsCode(() => serializeRequest('m', [], NaN), 'SKT_RPC_ENCODE', /id/);
});

test('client: parseResponse returns results and errors, and names garbage', () => {
  assert.deepEqual(parseResponse('{"jsonrpc": "2.0", "result": 19, "id": 1}', 1), { id: 1, result: 19 });
  assert.deepEqual(parseResponse(Buffer.from('{"jsonrpc":"2.0","result":null,"id":"a"}')), { id: 'a', result: null });
  assert.deepEqual(parseResponse('{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"1"}', '1'), {
    id: '1', error: { code: -32601, message: 'Method not found' },
  });
  assert.deepEqual(parseResponse('{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":[1]},"id":null}', 5), {
    id: null, error: { code: -32700, message: 'Parse error', data: [1] },
  });
  throwsCode(() => parseResponse('<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>'), 'SKT_RPC_RESPONSE', /an HTML page starting "<!DOCTYPE html><html><head><title>502 Bad Gateway.*not JSON/);
  throwsCode(() => parseResponse(''), 'SKT_RPC_RESPONSE', /an empty body/);
  throwsCode(() => parseResponse('Service Unavailable'), 'SKT_RPC_RESPONSE', /a text body starting "Service Unavailable"/);
  throwsCode(() => parseResponse(Buffer.from([0x7b, 0xff])), 'SKT_RPC_RESPONSE', /not valid UTF-8/);
  throwsCode(() => parseResponse('[{"jsonrpc":"2.0","result":1,"id":1}]'), 'SKT_RPC_RESPONSE', /a batch/);
  throwsCode(() => parseResponse('42'), 'SKT_RPC_RESPONSE', /not a JSON object/);
  throwsCode(() => parseResponse('{"result":1,"id":1}'), 'SKT_RPC_RESPONSE', /"jsonrpc"/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","result":1}'), 'SKT_RPC_RESPONSE', /"id"/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1}'), 'SKT_RPC_RESPONSE', /exactly one/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","id":1}'), 'SKT_RPC_RESPONSE', /exactly one/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","error":{"code":"x","message":"m"},"id":1}'), 'SKT_RPC_RESPONSE', /error.code/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","error":{"code":1},"id":1}'), 'SKT_RPC_RESPONSE', /error.message/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","error":"boom","id":1}'), 'SKT_RPC_RESPONSE', /not an object/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","result":1,"id":2}', 1), 'SKT_RPC_RESPONSE', /id 2 does not match the request's 1/);
  throwsCode(() => parseResponse('{"jsonrpc":"2.0","result":1,"id":null}', 1), 'SKT_RPC_RESPONSE', /does not match/);
});
