import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { FormData } from 'undici';
import { ResultCache, cacheKey } from '../../src/call/cache.js';
import { isRpcMethod, prepare } from '../../src/client/request.js';
import { parseData } from '../../src/transport/http/response.js';
import { Result, Results } from '../../src/call/result.js';
import { Status } from '../../src/call/status.js';
import { parseClusterTarget, parseUrl } from '../../src/client/target.js';
import { isSkitaiError } from '../../src/errors.js';
import { parseMethodCall, serializeMethodResponse } from '../../src/rpc/xmlrpc.js';

describe('request bodies (SKITAI.md §1.3)', () => {
  test('XMLRPC and JSONRPC POST the encoded call; RPC is not retryable unless safe', () => {
    const x = prepare('XMLRPC', '/rpc2', undefined, {}, { name: 'search', params: ['mozart'] });
    assert.deepEqual([x.method, x.headers['content-type'], x.retryable, x.replayable], ['POST', 'text/xml; charset=utf-8', false, true]);
    assert.deepEqual(parseMethodCall(x.body as string), { method: 'search', params: ['mozart'] });
    const j = prepare('jsonrpc', '/api', undefined, { safe: true }, { name: 'a.b', params: [1] });
    assert.equal(j.headers['content-type'], 'application/json-rpc; charset=utf-8');
    assert.deepEqual(JSON.parse(j.body as string), { jsonrpc: '2.0', method: 'a.b', params: [1], id: j.rpcId });
    assert.equal(j.retryable, true);
    assert.throws(() => prepare('XMLRPC', '/', undefined, {}), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
  });

  test('GET/DELETE put object data in the query; POST objects are urlencoded; PUT/PATCH objects are JSON', () => {
    const g = prepare('get', '/s?x=1', { q: 'a b', tags: ['x', 'y'], none: undefined }, {});
    assert.deepEqual([g.method, g.path, g.body, g.retryable], ['GET', '/s?x=1&q=a+b&tags=x&tags=y', undefined, true]);
    const p = prepare('POST', '/f', { a: 1, b: 'two' }, {});
    assert.deepEqual([p.body, p.headers['content-type'], p.retryable], ['a=1&b=two', 'application/x-www-form-urlencoded; charset=utf-8', false]);
    const pj = prepare('POST', '/f', { a: 1 }, { headers: { 'Content-Type': 'application/json' } });
    assert.equal(pj.body, '{"a":1}');
    const put = prepare('PUT', '/r', { a: [1] }, {});
    assert.deepEqual([put.body, put.headers['content-type'], put.retryable], ['{"a":[1]}', 'application/json; charset=utf-8', true]);
    const raw = prepare('PATCH', '/r', 'plain', { headers: { 'content-type': 'text/plain', 'Content-Length': '99', Host: 'evil' } });
    assert.deepEqual([raw.body, raw.headers['content-type'], raw.headers['content-length'], raw.headers.host], ['plain', 'text/plain', undefined, undefined]);
    assert.throws(() => prepare('GET', '/', 'text', {}), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    assert.throws(() => prepare('BAD VERB', '/', undefined, {}), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
  });

  test('UPLOAD is multipart; streams are sent once (not replayable); login is Basic auth', () => {
    const u = prepare('UPLOAD', '/up', { title: 'x', file: { data: Buffer.from('abc'), filename: 'a.txt', type: 'text/plain' }, blob: new Blob(['z']) }, { login: 'ann:secret' });
    assert.ok(u.body instanceof FormData);
    assert.deepEqual([u.method, u.replayable, u.headers.authorization], ['POST', true, `Basic ${Buffer.from('ann:secret').toString('base64')}`]);
    const s = prepare('PUT', '/s', Readable.from(['a']), {});
    assert.deepEqual([s.replayable, s.retryable], [false, true]);
    assert.equal(prepare('GET', '/', undefined, { safe: false }).retryable, false);
    assert.match(prepare('GET', '/', undefined, {}).headers['accept-encoding']!, /gzip/);
  });
});

describe('response data', () => {
  const http = prepare('GET', '/', undefined, {});
  const xml = prepare('XMLRPC', '/', undefined, {}, { name: 'm', params: [] });
  test('JSON, text with charset, Buffer, empty', () => {
    assert.deepEqual(parseData(http, 200, { 'content-type': 'application/problem+json' }, Buffer.from('{"a":1}')), { data: { a: 1 } });
    assert.equal(parseData(http, 200, { 'content-type': 'text/plain; charset=latin1' }, Buffer.from([0xe9])).data, 'é');
    assert.ok(Buffer.isBuffer(parseData(http, 200, { 'content-type': 'image/png' }, Buffer.from([1])).data));
    assert.deepEqual(parseData(http, 204, {}, Buffer.alloc(0)), { data: null });
    const bad = parseData(http, 200, { 'content-type': 'application/json' }, Buffer.from('{oops'));
    assert.equal(bad.data, '{oops');
    assert.ok(isSkitaiError(bad.error, 'SKT_CLIENT_RESPONSE'));
  });

  test('RPC: a value; a broken body on 2xx throws SKT_RPC_RESPONSE saying what it was; on a 5xx it is data', () => {
    assert.deepEqual(parseData(xml, 200, { 'content-type': 'text/xml' }, Buffer.from(serializeMethodResponse([1, 2]))), { data: [1, 2] });
    assert.throws(() => parseData(xml, 200, { 'content-type': 'text/html' }, Buffer.from('<!doctype html><p>hi')), /SKT_RPC_RESPONSE|an HTML page/);
    const page = parseData(xml, 502, { 'content-type': 'text/html' }, Buffer.from('<html>bad gateway</html>'));
    assert.equal(page.data, '<html>bad gateway</html>');
    assert.match(page.error!.message, /an HTML page/);
  });
});

describe('targets', () => {
  test('@name/path and URLs', () => {
    assert.deepEqual(parseClusterTarget('@pypi/rpc2?x=1'), { cluster: 'pypi', path: '/rpc2?x=1' });
    assert.deepEqual(parseClusterTarget('@pypi'), { cluster: 'pypi', path: '/' });
    assert.throws(() => parseClusterTarget('pypi/x'), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    assert.deepEqual(parseUrl('https://u:p%40ss@example.com/a?b=1'), { origin: 'https://example.com', path: '/a?b=1', node: 'example.com:443', login: 'u:p@ss' });
    assert.throws(() => parseUrl('ftp://x/'), /only http and https/);
    assert.throws(() => parseUrl('/relative'), /not an absolute URL/);
  });
});

describe('result cache', () => {
  const ok = (): Result => new Result({ status: Status.NORMAL, code: 200, msg: 'OK', node: 'n' });
  test('LRU: a read refreshes, the least recently used goes first; entries expire', () => {
    let now = 0;
    const cache = new ResultCache(2, () => now);
    const [a, b, c] = [ok(), ok(), ok()];
    cache.set('a', a, 10);
    cache.set('b', b, 10);
    assert.equal(cache.get('a'), a);
    cache.set('c', c, 10);
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.equal(cache.get('a'), a);
    now = 10_000;
    assert.equal(cache.get('a'), undefined, 'expired');
    assert.deepEqual(cache.stats(), { size: 1, max: 2, hits: 2, misses: 2, stores: 3, evictions: 1 });
    cache.set('c', c, 0);
    assert.equal(cache.stats().size, 0, 'seconds <= 0 drops the entry');
  });

  test('keys: same call, same key; login, headers and data change it; streams have none', () => {
    const base = { kind: 'lb', target: '@c/x', method: 'GET', data: { a: 1 } };
    assert.equal(cacheKey(base), cacheKey({ ...base, method: 'get' }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, login: 'ann:pw' }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, headers: { 'x-user': 'bob' } }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, data: { a: 2 } }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, kind: 'map' }));
    assert.equal(cacheKey({ ...base, data: Readable.from(['x']) }), undefined);
    assert.equal(cacheKey({ ...base, data: { f: new Blob(['x']) } }), undefined);
    assert.doesNotMatch(cacheKey({ ...base, login: 'ann:secret' })!, /secret/);
  });

  test('Results is an Array whose filter/map give plain arrays', () => {
    const rs = Results.fromList([ok(), ok()]);
    assert.ok(Array.isArray(rs));
    assert.equal(rs.length, 2);
    assert.equal(rs.filter(() => true).constructor, Array);
  });
});

test('methods in any case: the common verbs (looked up) and others (upper-cased) go out in upper case; RPC names are recognised', () => {
  for (const [given, sent] of [['get', 'GET'], ['GET', 'GET'], ['Get', 'GET'], ['delete', 'DELETE'], ['purge', 'PURGE'], ['PROPFIND', 'PROPFIND']]) {
    assert.equal(prepare(given, '/x', undefined, {}).method, sent, given);
  }
  for (const m of ['xmlrpc', 'XMLRPC', 'JsonRpc', 'jsonrpc']) assert.equal(isRpcMethod(m), true, m);
  for (const m of ['get', 'POST', 'rpc']) assert.equal(isRpcMethod(m), false, m);
  assert.equal(prepare('xmlrpc', '/rpc', undefined, {}, { name: 'add', params: [1, 2] }).kind, 'xmlrpc');
  assert.equal(prepare('jsonrpc', '/rpc', undefined, {}, { name: 'add', params: [1, 2] }).kind, 'jsonrpc');
});
