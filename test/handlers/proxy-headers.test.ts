import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relayHeaders, requestHeaders, responseHeaders } from '../../src/handlers/proxy/headers.js';

const direct = { peer: '192.0.2.7', trustedPeer: false, proto: 'https' };

/** Flat [name, value, …] -> lower-case name -> values. */
function byName(flat: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return out;
}

test('request: hop-by-hop headers and the ones Connection names stay behind; others keep their order and case', () => {
  const raw = [
    'Host', 'front.example', 'Connection', 'keep-alive, X-Private', 'connection', 'Foo', 'X-Private', '1', 'foo', '2',
    'Keep-Alive', 'timeout=5', 'Proxy-Authorization', 'Basic eDp5', 'Proxy-Connection', 'keep-alive', 'TE', 'trailers',
    'Trailer', 'X-T', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Expect', '100-continue', 'Accept', 'a', 'X-Other', 'b',
  ];
  const out = requestHeaders(raw, direct, false);
  assert.deepEqual(out.slice(0, 4), ['Accept', 'a', 'X-Other', 'b']);
  const h = byName(out);
  assert.deepEqual(Object.keys(h).sort(), ['accept', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-other']);
  assert.deepEqual(h['x-forwarded-host'], ['front.example']);
  assert.deepEqual(h['x-forwarded-proto'], ['https']);
});

test('request: X-Forwarded-For is appended to (all incoming lines joined); Proto and Host from a client are replaced', () => {
  const raw = ['Host', 'h', 'X-Forwarded-For', '10.0.0.1', 'x-forwarded-for', '10.0.0.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil'];
  const h = byName(requestHeaders(raw, { ...direct, proto: 'http' }, false));
  assert.deepEqual(h['x-forwarded-for'], ['10.0.0.1, 10.0.0.2, 192.0.2.7']);
  assert.deepEqual(h['x-forwarded-proto'], ['http']);
  assert.deepEqual(h['x-forwarded-host'], ['h']);
});

test('request: behind a trusted proxy, its X-Forwarded-Proto and -Host are kept', () => {
  const raw = ['Host', 'inner:5000', 'X-Forwarded-For', '203.0.113.9', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'www.example'];
  const h = byName(requestHeaders(raw, { peer: '10.0.0.5', trustedPeer: true, proto: 'http' }, false));
  assert.deepEqual(h['x-forwarded-for'], ['203.0.113.9, 10.0.0.5']);
  assert.deepEqual(h['x-forwarded-proto'], ['https']);
  assert.deepEqual(h['x-forwarded-host'], ['www.example']);
});

test('request: Content-Length only for a streamed body, once', () => {
  const raw = ['Host', 'h', 'Content-Length', '9', 'Content-Length', '9'];
  assert.equal(byName(requestHeaders(raw, direct, false))['content-length'], undefined);
  assert.deepEqual(byName(requestHeaders(raw, direct, true))['content-length'], ['9']);
});

test('response: hop-by-hop and Connection-named headers dropped, repeated ones kept as arrays', () => {
  const out = responseHeaders({
    connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic',
    'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'], 'content-encoding': 'gzip', 'content-length': '12',
  });
  assert.deepEqual(out, { 'set-cookie': ['a=1', 'b=2'], 'content-encoding': 'gzip', 'content-length': '12' });
});

test('relayed response (raw buffers): hop-by-hop and Connection-named headers dropped; case, order, repeats and bytes kept', () => {
  const raw = [
    'Content-Type', 'text/plain', 'Connection', 'keep-alive', 'connection', 'X-Private, Foo', 'X-Private', 'secret',
    'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Transfer-Encoding', 'chunked',
    'Proxy-Authenticate', 'Basic', 'foo', 'bar', 'X-Latin', 'caf\xe9', 'Upgrade', 'h2c',
  ].map((s) => Buffer.from(s, 'latin1'));
  assert.deepEqual(relayHeaders(raw), ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Latin', 'caf\xe9']);
  // The common answer: Connection: keep-alive names nothing.
  const plain = ['Content-Length', '2', 'Connection', 'Keep-Alive', 'Date', 'x'].map((s) => Buffer.from(s));
  assert.deepEqual(relayHeaders(plain), ['Content-Length', '2', 'Date', 'x']);
});

test("relayed response with the forward proxy's Via: the answer's Via lines join ours (last), whatever their case", () => {
  const raw = ['Via', '1.0 cache-a', 'Content-Length', '2', 'via', '1.1 cache-b'].map((s) => Buffer.from(s));
  assert.deepEqual(relayHeaders(raw, '1.1 me:5000'), ['Content-Length', '2', 'via', '1.0 cache-a, 1.1 cache-b, 1.1 me:5000']);
  assert.deepEqual(relayHeaders([Buffer.from('Date'), Buffer.from('x')], '1.1 me:5000'), ['Date', 'x', 'via', '1.1 me:5000']);
  // A Via the answer's Connection names belonged to its hop: only ours goes on.
  const named = ['Connection', 'Via', 'Via', '1.0 hop'].map((s) => Buffer.from(s));
  assert.deepEqual(relayHeaders(named, '1.1 me:5000'), ['via', '1.1 me:5000']);
  // Without ours (the reverse proxy) the answer's Via passes as it is.
  assert.deepEqual(relayHeaders(raw), ['Via', '1.0 cache-a', 'Content-Length', '2', 'via', '1.1 cache-b']);
});
