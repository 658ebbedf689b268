/**
 * Backpressure through the reverse proxy, both ways, with real sockets: a client that stops reading
 * holds the member's writes back, and a member that stops reading holds the client's upload back.
 * Nothing piles up in the proxy; when reading resumes, every byte arrives.
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSite, type TestSite } from '../support/site.js';
import { listen } from '../support/targets.js';

const SIZE = 32 * 1024 * 1024;
/** How long a stalled writer must stay stalled: a negative check needs a window; nothing waits on it to proceed. */
const STILL_MS = 300;

/**
 * Writes SIZE bytes to `out` honouring `write()` returning false, and emits 'stall' each time it
 * waits for 'drain'. `end`: end `out` after the last byte (a client socket is left open: Node takes
 * a client's half-close as leaving).
 */
class Pump extends EventEmitter {
  written = 0;
  stalled = false;

  constructor(
    readonly out: NodeJS.WritableStream & { once(e: 'drain', f: () => void): unknown },
    readonly end = true,
  ) {
    super();
    this.#write();
  }

  #write = (): void => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    this.stalled = false;
    while (this.written < SIZE) {
      this.written += chunk.length;
      if (!this.out.write(chunk)) {
        this.stalled = true;
        this.out.once('drain', this.#write);
        this.emit('stall');
        return;
      }
    }
    if (this.end) this.out.end();
    this.emit('done');
  };

  /** Resolves once the pump is stalled and has stayed so for STILL_MS, or has written everything. */
  async held(): Promise<void> {
    for (;;) {
      if (this.written >= SIZE) return;
      if (!this.stalled) await Promise.race([once(this, 'stall'), once(this, 'done')]);
      const at = this.written;
      await new Promise((resolve) => setTimeout(resolve, STILL_MS));
      if (this.stalled && this.written === at) return;
    }
  }
}

let site: TestSite;
let member: http.Server & { port: number };
let download: Pump | undefined;
const uploads = new EventEmitter();

before(async () => {
  member = await listen(
    http.createServer((req, res) => {
      if (req.url === '/down') {
        res.writeHead(200, { 'content-length': SIZE });
        download = new Pump(res);
        return;
      }
      // /up: read nothing until the test says so, then count the body.
      req.pause();
      uploads.emit('arrived', req, res);
    }),
  );
  site = await startSite(`[server]\nmax_body_size = 1M\nmax_proxy_body_size = 64M\n\n[routes:line]\n/m = @m\n\n[@m]\nmembers = 127.0.0.1:${member.port}\n`);
});

after(async () => {
  await site.close();
  member.closeAllConnections();
  member.close();
});

describe('reverse proxy backpressure', { timeout: 20_000 }, () => {
  test('a client that stops reading holds the member back; resumed, the whole body arrives', async () => {
    const client = net.connect(site.port, '127.0.0.1');
    let got = 0;
    client.once('data', (d: Buffer) => {
      got += d.length;
      client.pause();
    });
    client.write('GET /m/down HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(client, 'pause');
    while (download === undefined) await once(member, 'request');
    await download.held();
    assert.ok(download.written < SIZE / 2, `the member wrote ${download.written} of ${SIZE} bytes to a client that read ${got}`);
    const all = new Promise<void>((resolve) => {
      client.on('data', (d: Buffer) => {
        got += d.length;
        // More than the body: the status line and headers came too.
        if (got > SIZE) resolve();
      });
    });
    client.resume();
    await all;
    assert.equal(download.written, SIZE);
    client.destroy();
  });

  test('a member that stops reading holds the client upload back; resumed, every byte arrives', async () => {
    const arrived = once(uploads, 'arrived') as Promise<[http.IncomingMessage, http.ServerResponse]>;
    const client = net.connect(site.port, '127.0.0.1');
    client.on('error', () => undefined);
    let answer = '';
    client.setEncoding('latin1');
    client.on('data', (d: string) => (answer += d));
    await once(client, 'connect');
    client.write(`PUT /m/up HTTP/1.1\r\nHost: x\r\nContent-Length: ${SIZE}\r\n\r\n`);
    const upload = new Pump(client, false);
    const [req, res] = await arrived;
    await upload.held();
    assert.ok(upload.written < SIZE / 2, `the client could write ${upload.written} of ${SIZE} bytes to a member that read nothing`);
    let received = 0;
    req.on('data', (c: Buffer) => (received += c.length));
    req.resume();
    await once(req, 'end');
    res.end(`got ${received}`);
    while (!answer.includes(`got ${SIZE}`)) await once(client, 'data');
    assert.match(answer, /^HTTP\/1\.1 200 /);
    client.destroy();
  });
});
