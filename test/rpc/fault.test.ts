import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SkitaiError, isSkitaiError } from '../../src/errors.js';
import { RpcFault, RpcFaultCode, faultFor } from '../../src/rpc/fault.js';
import { describeBody } from '../../src/rpc/preview.js';

test('faultFor maps codec errors, RpcFault and app exceptions per the documented table', () => {
  const fault = new RpcFault(-32042, 'Quota exceeded', { retryAfter: 30 });
  assert.ok(isSkitaiError(fault, 'SKT_RPC_FAULT'));
  assert.deepEqual(faultFor(fault, 'jsonrpc'), { code: -32042, message: 'Quota exceeded', data: { retryAfter: 30 } });
  assert.deepEqual(faultFor(new RpcFault(RpcFaultCode.METHOD_NOT_FOUND, 'no a.b'), 'xmlrpc'), { code: -32601, message: 'no a.b' });
  assert.equal(faultFor(new SkitaiError('SKT_RPC_PARSE', 'bad'), 'xmlrpc').code, -32700);
  assert.equal(faultFor(new SkitaiError('SKT_RPC_INVALID', 'bad'), 'xmlrpc').code, -32600);
  assert.equal(faultFor(new SkitaiError('SKT_RPC_LIMIT', 'big'), 'jsonrpc').code, -32600);
  assert.deepEqual(faultFor(new SkitaiError('SKT_RPC_ENCODE', 'NaN'), 'xmlrpc'), { code: -32603, message: 'Internal error: NaN' });
  // An app's exception hides its text unless exposed (devel mode).
  const boom = new TypeError('secret');
  assert.deepEqual(faultFor(boom, 'xmlrpc'), { code: -32500, message: 'Server error' });
  assert.deepEqual(faultFor(boom, 'jsonrpc'), { code: -32000, message: 'Server error' });
  assert.match(faultFor(boom, 'xmlrpc', true).message, /TypeError: secret\n\s+at /);
  const exposed = faultFor(boom, 'jsonrpc', true);
  assert.equal(exposed.message, 'TypeError: secret');
  assert.match((exposed.data as { stack: string }).stack, /secret/);
  assert.deepEqual(faultFor('a string', 'jsonrpc', true), { code: -32000, message: 'thrown: a string' });
});

test('describeBody names what an unexpected body looks like', () => {
  assert.equal(describeBody(''), 'an empty body');
  assert.equal(describeBody(Buffer.alloc(0)), 'an empty body');
  assert.equal(describeBody(' \n '), 'a body of only whitespace');
  assert.equal(describeBody('<!doctype html>\n<html>'), 'an HTML page starting "<!doctype html> <html>"');
  assert.equal(describeBody(Buffer.from('<HTML><BODY>x')), 'an HTML page starting "<HTML><BODY>x"');
  assert.equal(describeBody('<?xml version="1.0"?><a/>'), 'an XML document starting "<?xml version=\\"1.0\\"?><a/>"');
  assert.equal(describeBody('{"a":1}'), 'a JSON-like body starting "{\\"a\\":1}"');
  assert.equal(describeBody('x'.repeat(100)), `a text body starting "${'x'.repeat(80)}…"`);
  assert.equal(describeBody(Buffer.from([0x01, 0x41])), 'a text body starting "\\\\x01A"');
});
