/**
 * The reverse proxy's transport on its own: a StreamExchange between a real node:http front server
 * and a real node:http member, over an undici Pool, all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import type { Endpoint } from '../../src/transport/http/exchange.js';
import { StreamExchange, type StreamOutcome } from '../../src/handlers/proxy/stream.js';

let member: http.Server;
let front: http.Server;
let pool: Pool;
let endpoint: Endpoint;
/** What the front handler does before the exchange starts (set per test). */
let prepare: (res: http.ServerResponse) => void = () => undefined;
const outcomes: StreamOutcome[] = [];

const listen = async (server: http.Server): Promise<number> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

before(async () => {
  member = http.createServer((req, res) => {
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.setHeader('connection', 'keep-alive, X-Hop');
    res.setHeader('x-hop', 'secret');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('member body');
  });
  const port = await listen(member);
  const origin = `http://127.0.0.1:${port}`;
  pool = new Pool(origin);
  endpoint = { dispatcher: pool, origin, node: `127.0.0.1:${port}`, connectTimeout: 1000, responseTimeout: 2000, maxResponseSize: 1 << 20 };
  front = http.createServer((req, res) => {
    prepare(res);
    new StreamExchange(endpoint, { method: 'GET', path: '/', headers: [], body: null }, res, 2000, { streamDone: (o) => void outcomes.push(o) }).start();
  });
  await listen(front);
});

after(async () => {
  front.close();
  member.close();
  await pool.close();
});

function get(): Promise<http.IncomingMessage & { text: string }> {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(Object.assign(res, { text })));
    }).on('error', reject);
  });
}

test('relays status, headers minus hop-by-hop ones, repeated Set-Cookie and the body; reports relayed with the status', async () => {
  prepare = () => undefined;
  const res = await get();
  assert.equal(res.statusCode, 200);
  assert.equal(res.text, 'member body');
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(res.headers['x-hop'], undefined);
  const o = outcomes.at(-1)!;
  assert.equal(o.end, 'relayed');
  assert.equal(o.health, 200);
});

test('a header set on the response before (Connection: close while the engine drains) is kept, and repeated member headers stay repeated', async () => {
  prepare = (res) => {
    res.setHeader('connection', 'close');
    res.setHeader('content-type', 'application/x-ours');
  };
  const res = await get();
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers.connection, 'close');
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(res.headers['content-type'], 'text/plain', "the member's header replaces ours");
  assert.equal(res.text, 'member body');
});
