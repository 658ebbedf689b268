import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { H2Request } from '../../src/http/h2request.js';
import { H2Response } from '../../src/http/h2response.js';
import { h2Connect, h2Request, type H2Got } from '../support/h2.js';

/**
 * H2Response#writeHead() with nothing stored before hands its headers to node:http2 in a plain
 * object of its own (the path respond() takes for a whole body); what a client gets must be what
 * the stored path sends. An h2c server on 127.0.0.1 with the engine's pair, and node's h2 client.
 */
async function answer(write: (res: H2Response, req: H2Request) => void, requests = 1): Promise<H2Got[]> {
  const server = http2.createServer();
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
    const req = new H2Request(stream, headers, raw);
    const res = new H2Response(stream, req);
    res.exchange = { id: 'k2-9' };
    write(res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = await h2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    const got: H2Got[] = [];
    for (let i = 0; i < requests; i++) got.push(await h2Request(session, '/'));
    return got;
  } finally {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** What the handler saw of its own response after writeHead(), sent as the body. */
function report(res: H2Response): string {
  return JSON.stringify([res.getHeader('x-upper'), res.getHeader('constructor') ?? null, res.hasHeader('toString'), res.getHeader('connection') ?? null, res.headersSent]);
}

const given = (): http.OutgoingHttpHeaders => ({ 'X-Upper': 'v', Connection: 'keep-alive', 'content-type': 'text/plain', 'x-skip': undefined });

test('writeHead() with nothing stored: names lower-cased, Connection dropped, the id and Date added, getHeader() reads own names only', async () => {
  for (const stored of [false, true]) {
    const [got] = await answer((res) => {
      if (stored) res.setHeader('x-before', '1');
      res.writeHead(201, given());
      res.end(report(res));
    });
    assert.equal(got.status, 201, `stored ${stored}`);
    assert.equal(got.headers['x-upper'], 'v');
    assert.equal(got.headers['content-type'], 'text/plain');
    assert.equal(got.headers.connection, undefined);
    assert.equal(got.headers['x-skip'], undefined);
    assert.equal(got.headers['x-request-id'], 'k2-9');
    assert.ok(got.headers.date);
    assert.equal(got.headers['x-before'], stored ? '1' : undefined);
    assert.deepEqual(JSON.parse(got.body.toString()), ['v', null, false, null, true]);
  }
});

test('a header named __proto__ is sent as any other (it takes the stored path)', async () => {
  const [got] = await answer((res) => {
    const headers = given();
    Object.defineProperty(headers, '__proto__', { value: 'p', enumerable: true });
    res.writeHead(200, headers);
    res.end(report(res));
  });
  assert.equal(got.status, 200);
  assert.equal(Object.hasOwn(got.headers, '__proto__') ? (got.headers as Record<string, unknown>)['__proto__'] : undefined, 'p');
  assert.equal(got.headers['x-upper'], 'v');
  assert.deepEqual(JSON.parse(got.body.toString()), ['v', null, false, null, true]);
});

test('writeHead() with nothing stored refuses a CR/LF in a value, as setHeader() does', async () => {
  const [got] = await answer((res) => {
    try {
      res.writeHead(200, { 'x-bad': 'a\r\nb' });
      res.end('sent');
    } catch (err) {
      res.writeHead(500, { 'x-error': (err as { code: string }).code });
      res.end();
    }
  });
  assert.equal(got.status, 500);
  assert.equal(got.headers['x-error'], 'ERR_INVALID_CHAR');
  assert.equal(got.headers['x-bad'], undefined);
});

test('the request of a bodyless stream: the peer address on every stream of a session, empty trailers', async () => {
  const got = await answer((res, req) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify([req.socket.remoteAddress, res.socket.remoteAddress, req.trailers, req.rawTrailers, req.complete]));
  }, 2);
  for (const one of got) assert.deepEqual(JSON.parse(one!.body.toString()), ['127.0.0.1', '127.0.0.1', {}, [], true]);
});

test('every response starts with no headers of its own: one stored on a response is not on the next', async () => {
  let n = 0;
  const got = await answer((res) => {
    const before = [res.getHeaderNames(), Object.keys(res.getHeaders()), res.hasHeader('x-one')];
    res.removeHeader('x-none');
    if (n++ === 0) res.setHeader('x-one', '1');
    res.end(JSON.stringify(before));
  }, 3);
  assert.equal(got[0]!.headers['x-one'], '1');
  for (const one of got) assert.deepEqual(JSON.parse(one.body.toString()), [[], [], false]);
  assert.equal(got[1]!.headers['x-one'], undefined);
});
