// Readiness (`ready_path`) and what a graceful stop tells clients: real sockets, a real skitaid
// process for SIGTERM, a real member server taken down and brought back for a required cluster.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { checkSite } from '../../src/site.js';
import { foreground, killForeground, tempSite, type Foreground } from '../support/cli.js';
import { parseReply, type RawReply } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/smtp.js';

/** One client connection that keeps alive: send a request, read exactly one response. */
class Conn {
  readonly socket: net.Socket;
  #buffer = '';
  #closed = false;
  #waiter: (() => void) | undefined;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.#buffer += d;
      this.#waiter?.();
    });
    this.socket.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
    this.socket.on('error', () => undefined);
  }

  /** Send `GET path` and resolve with its response (whole body by Content-Length). */
  get(path: string): Promise<RawReply> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    return this.read();
  }

  read(): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const end = this.#buffer.indexOf('\r\n\r\n');
        if (end >= 0) {
          const reply = parseReply(this.#buffer.slice(0, end + 4));
          const length = Number(reply.headers['content-length'] ?? 0);
          if (this.#buffer.length >= end + 4 + length) {
            const text = this.#buffer.slice(0, end + 4 + length);
            this.#buffer = this.#buffer.slice(end + 4 + length);
            this.#waiter = undefined;
            return resolve(parseReply(text, this.#closed));
          }
        }
        if (this.#closed) {
          this.#waiter = undefined;
          reject(new Error(`connection closed before a whole response: ${JSON.stringify(this.#buffer)}`));
        }
      };
      this.#waiter = check;
      check();
    });
  }

  /** Resolves when the server has closed the connection. */
  closed(): Promise<void> {
    return until(() => this.#closed, 5_000, 'the server to close the connection').then(() => undefined);
  }
}

const HELD = `
import { App } from 'skitai';
export const app = new App();
// Held until the test lets it go: a request in flight for as long as the test needs.
app.route('/held', () => new Promise((resolve) => { globalThis.heldRequests.push(() => resolve('released')); }));
`;

declare global {
  var heldRequests: (() => void)[];
}

describe('ready_path while serving and while draining', () => {
  let t: TestSite | undefined;
  after(() => t?.close());

  test('200 while serving; during a drain held open by a request in flight, 503 and Connection: close', async () => {
    globalThis.heldRequests = [];
    t = await startSite('[server]\nready_path = /ready\ngrace_period = 10\n[routes:line]\n/ = ./held\n', { 'held.ts': HELD });
    const probe = new Conn(t.port);
    const ok = await probe.get('/ready');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'ready\n');
    assert.notEqual(ok.headers['connection'], 'close');

    const slow = new Conn(t.port);
    slow.socket.write('GET /held HTTP/1.1\r\nHost: test\r\n\r\n');
    await until(() => globalThis.heldRequests.length === 1, 5_000, 'the held request to reach the app');
    // A reload's drain: idle keep-alive connections stay, so the probe's connection still reaches us.
    const closing = t.site.close(10_000, true);

    const during = await probe.get('/ready');
    assert.equal(during.status, 503);
    assert.match(during.body, /^not ready: draining/);
    assert.equal(during.headers['connection'], 'close');
    await probe.closed();

    globalThis.heldRequests[0]!();
    const held = await slow.read();
    assert.equal(held.body, 'released');
    assert.equal(held.headers['connection'], 'close', 'the response in flight when the drain began says the connection ends');
    await closing;
  });

  test('a plain stop (not a drain): the response in flight says Connection: close', async () => {
    globalThis.heldRequests = [];
    t = await startSite('[server]\nready_path = /ready\n[routes:line]\n/ = ./held\n', { 'held.ts': HELD });
    const slow = new Conn(t.port);
    slow.socket.write('GET /held HTTP/1.1\r\nHost: test\r\n\r\n');
    await until(() => globalThis.heldRequests.length === 1, 5_000, 'the held request to reach the app');
    const closing = t.site.close(10_000, false);
    globalThis.heldRequests[0]!();
    const held = await slow.read();
    assert.equal(held.status, 200);
    assert.equal(held.headers['connection'], 'close');
    await closing;
  });
});

describe('SIGTERM to a running skitaid', () => {
  let fg: Foreground | undefined;
  let site: { dir: string; conf: string } | undefined;
  after(() => {
    killForeground(fg);
    if (site) fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('the response in flight at SIGTERM carries Connection: close', async () => {
    const app = `
import { App } from 'skitai';
export const app = new App();
// Answers only after the server got SIGTERM, so the response is surely in flight at the signal.
app.route('/until-term', () => new Promise((resolve) => {
  process.once('SIGTERM', () => setImmediate(() => resolve('after term')));
  console.log('until-term waiting');
}));
`;
    site = tempSite('[server]\nip = 127.0.0.1\nport = 0\ngrace_period = 10\naccess_log = off\n[routes:line]\n/ = ./app\n', { 'app.ts': app });
    fg = foreground(['-c', site.conf]);
    const [, port] = await fg.until(/listening on 127\.0\.0\.1:(\d+)/);
    const conn = new Conn(Number(port));
    conn.socket.write('GET /until-term HTTP/1.1\r\nHost: test\r\n\r\n');
    await fg.until(/until-term waiting/);
    fg.child.kill('SIGTERM');
    const reply = await conn.read();
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'after term');
    assert.equal(reply.headers['connection'], 'close');
    await conn.closed();
    assert.equal((await fg.exited).code, 0, fg.output());
  });
});

describe('a required cluster', () => {
  let t: TestSite | undefined;
  let member: http.Server | undefined;
  after(async () => {
    await t?.close();
    member?.closeAllConnections();
    member?.close();
  });

  const listen = (port: number): Promise<http.Server> =>
    new Promise((resolve, reject) => {
      const srv = http.createServer((_req, res) => res.end('pong'));
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve(srv));
    });
  const ready = async (): Promise<{ status: number; body: string }> => {
    const r = await fetch(`${t!.base}/ready`);
    return { status: r.status, body: await r.text() };
  };

  test('its only member down: 503 naming the cluster; back up: 200', async () => {
    member = await listen(0);
    const port = (member.address() as AddressInfo).port;
    t = await startSite(
      `[server]\nready_path = /ready\n[@api]\nmembers = 127.0.0.1:${port}\nrequired = yes\nhealth_check_path = /ping\n` +
        'health_check_interval = 20ms\nhealthy_threshold = 1\nunhealthy_threshold = 1\n[@other]\nmembers = 127.0.0.1:1\n',
    );
    await until(async () => (await ready()).status === 200, 5_000, 'ready');

    await new Promise<void>((resolve) => {
      member!.close(() => resolve());
      member!.closeAllConnections();
    });
    await until(async () => (await ready()).status === 503, 5_000, 'not ready once the member is down');
    assert.equal((await ready()).body, 'not ready: no live member in required cluster @api\n');

    member = await listen(port);
    await until(async () => (await ready()).status === 200, 5_000, 'ready once the member is back');
  });
});

test('required takes yes or no; a bad value is a config error naming the key (also at --check)', () => {
  const config = parseConfigText('[server]\nready_path = /ready\n[@api]\nmembers = 127.0.0.1:8080\nrequired = maybe\n', '/srv/site.conf', '/srv');
  assert.throws(() => checkSite(config), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SKT_CONFIG_VALUE');
    assert.match(err.message, /required/);
    return true;
  });
});
