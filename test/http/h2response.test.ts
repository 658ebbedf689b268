import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

/** What a bodyless request gives code that reads it as a stream, as JSON. */
async function readAsStream(req: H2Request, how: 'events' | 'iterate' | 'pipe'): Promise<string> {
  const seen: string[] = [];
  // A listener added before anything reads the request is kept when its Readable side is made.
  req.on('end', () => seen.push('end'));
  let bytes = 0;
  if (how === 'events') {
    await new Promise<void>((resolve) => req.on('data', (c: Buffer) => (bytes += c.length)).on('end', resolve));
  } else if (how === 'iterate') {
    for await (const c of req) bytes += (c as Buffer).length;
  } else {
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => (bytes += c.length));
    await pipeline(req, sink);
  }
  return JSON.stringify({ instance: req instanceof Readable, bytes, seen, ended: req.readableEnded, complete: req.complete });
}

test('a bodyless request read as a stream ends at once, with no data, however it is read', async () => {
  for (const how of ['events', 'iterate', 'pipe'] as const) {
    const [got] = await answer((res, req) => {
      void readAsStream(req, how).then((text) => res.end(text));
    });
    assert.deepEqual(JSON.parse(got!.body.toString()), { instance: true, bytes: 0, seen: ['end'], ended: true, complete: true }, how);
  }
});

test('a bodyless request answered without reading it makes no Readable state; its listener object comes with the first listener', async () => {
  const states: unknown[] = [];
  await answer((res, req) => {
    res.end('x');
    states.push(Object.hasOwn(req, '_readableState'), req._events);
    req.once('x', () => undefined);
    states.push(Object.hasOwn(req, '_readableState'), req.listenerCount('x'));
  });
  assert.deepEqual(states, [false, undefined, true, 1]);
});

test("the response's onClosed runs after 'finish' and before its 'close' listeners, whether the stream ended or was reset", async () => {
  for (const reset of [false, true]) {
    const order: string[] = [];
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    await answer((res) => {
      res.on('finish', () => order.push('finish'));
      res.onClosed = () => order.push(`onClosed ${String(res.writableFinished)}`);
      res.on('close', () => {
        order.push('close');
        closed();
      });
      if (reset) res.destroy();
      else res.end('x');
    }).catch(() => undefined);
    await done;
    assert.deepEqual(order, ['finish', `onClosed ${String(!reset)}`, 'close'], `reset ${reset}`);
  }
});
