import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { RequestExchange } from '../../src/http/exchange.js';
import { EngineResponse } from '../../src/http/response.js';

/**
 * EngineResponse adds the request id as its head is written, whichever way a handler writes it.
 * A node:http server with the engine's response class, and each path a handler can take.
 */
async function heads(write: (res: EngineResponse, given: { headers?: unknown }) => void, method = 'GET'): Promise<{ raw: string[]; given: unknown }> {
  const given: { headers?: unknown } = {};
  const server = http.createServer({ ServerResponse: EngineResponse }, (_req, res) => {
    const r = res as EngineResponse;
    r.exchange = { id: 'k1-7' } as RequestExchange;
    write(r, given);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const raw = await new Promise<string[]>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.rawHeaders));
      });
      req.on('error', reject);
      req.end();
    });
    return { raw, given: given.headers };
  } finally {
    server.close();
  }
}

const values = (raw: string[], name: string): string[] => raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name);

test('X-Request-Id goes out once, first, on every way of writing the head; the headers given are not changed', async () => {
  const shared = Object.freeze({ 'content-type': 'text/plain', 'content-length': '2' });
  let r = await heads((res, g) => {
    g.headers = shared;
    res.writeHead(200, shared).end('ok');
  });
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], 'a header object (a frozen constant)');
  assert.equal(r.raw[0], 'x-request-id', 'the id is the first header');

  const list = ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-length', '2'];
  r = await heads((res) => res.writeHead(200, list).end('ok'));
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], 'a flat list');
  assert.deepEqual(values(r.raw, 'set-cookie'), ['a=1', 'b=2']);
  assert.equal(list.length, 8, "the caller's list is not appended to");

  r = await heads((res) => {
    res.setHeader('x-extra', 'yes');
    res.writeHead(200, list).end('ok');
  });
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], 'a list after setHeader()');
  assert.deepEqual(values(r.raw, 'set-cookie'), ['a=1', 'b=2'], 'repeated names stay repeated after setHeader()');
  assert.deepEqual(values(r.raw, 'x-extra'), ['yes']);

  r = await heads((res) => res.writeHead(201, 'Made', { 'content-length': '0' }).end());
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], 'with a reason phrase');

  r = await heads((res) => res.end('implicit'));
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], "the implicit head of the first write");

  r = await heads((res) => res.writeHead(304, { etag: '"x"' }).end());
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], 'a 304');

  r = await heads((res) => res.writeHead(200, { 'content-length': '2' }).end('ok'), 'HEAD');
  assert.deepEqual(values(r.raw, 'x-request-id'), ['k1-7'], 'a HEAD');
});

test('an X-Request-Id the handler sets itself is the one sent, once', async () => {
  let r = await heads((res) => res.writeHead(200, { 'x-request-id': 'mine', 'content-length': '0' }).end());
  assert.deepEqual(values(r.raw, 'x-request-id'), ['mine'], 'in a header object');
  r = await heads((res) => res.writeHead(200, ['X-Request-Id', 'mine', 'content-length', '0']).end());
  assert.deepEqual(values(r.raw, 'x-request-id'), ['mine'], 'in a list, any letter case');
  r = await heads((res) => {
    res.setHeader('X-Request-Id', 'mine');
    res.writeHead(200, { 'content-length': '0' }).end();
  });
  assert.deepEqual(values(r.raw, 'x-request-id'), ['mine'], 'with setHeader()');
});
