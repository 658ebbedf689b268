import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rawRequest } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';
import { settle } from '../support/until.js';

// enable_proxy = no (the default): an absolute-form request is a request to this server
// (RFC 9112 §3.2.2), and CONNECT is 501.

let site: TestSite;

before(async () => {
  site = await startSite('[server]\naccess_log = access.log\n[routes:line]\n/ = ./www\n', { 'www/hello.txt': 'local file' });
});
after(() => site.close());

test('an absolute-form request for any host is served by this server, path only', async () => {
  const r = await rawRequest(site.port, 'GET http://elsewhere.example:8080/hello.txt?x=1 HTTP/1.1\r\nHost: elsewhere.example:8080\r\n\r\n', 150);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'local file');
  const ping = await rawRequest(site.port, 'GET http://elsewhere.example/ping HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n', 150);
  assert.equal(ping.body, 'pong');
  const missing = await rawRequest(site.port, 'GET http://elsewhere.example/nothing HTTP/1.1\r\nHost: x\r\n\r\n', 150);
  assert.equal(missing.status, 404);
});

test('CONNECT is 501 Not Implemented and the connection closes', async () => {
  const r = await rawRequest(site.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.equal(r.status, 501);
  assert.match(r.body, /SKT_METHOD_NOT_IMPLEMENTED: CONNECT is not supported: this server is not a forward proxy/);
  assert.ok(r.closed);
  await settle(() => site.site.engine.inFlight, (n) => n === 0, 'the refused socket out of flight');
});
