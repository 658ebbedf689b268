import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { startSite, type TestSite } from '../support/site.js';
import { listen } from '../support/targets.js';

// A client that stops reading must stop the origin too, through the HTTP relay and through a
// tunnel: the origin's writes stall far short of the body, and nothing is lost when reading resumes.

const SIZE = 32 * 1024 * 1024;
const written = { http: 0, tcp: 0 };

/** Writes SIZE bytes, honouring `write()` returning false; counts what it handed over. */
function pump(out: NodeJS.WritableStream & { once(e: 'drain', f: () => void): unknown }, key: 'http' | 'tcp'): void {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const write = (): void => {
    while (written[key] < SIZE) {
      written[key] += chunk.length;
      if (!out.write(chunk)) return void out.once('drain', write);
    }
    out.end();
  };
  write();
}

let site: TestSite;
let origin: http.Server & { port: number };
let tcp: net.Server & { port: number };

before(async () => {
  origin = await listen(http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': SIZE });
    pump(res, 'http');
  }));
  tcp = await listen(net.createServer((socket) => pump(socket.on('error', () => undefined), 'tcp')));
  site = await startSite(`[server]\nenable_proxy = yes\nproxy_connect_ports = ${tcp.port}\n`);
});

after(async () => {
  await site.close();
  origin.closeAllConnections();
  origin.close();
  tcp.close();
});

for (const [kind, request] of [
  ['http', (): string => `GET http://127.0.0.1:${origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`],
  ['tcp', (): string => `CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\nHost: x\r\n\r\n`],
] as const) {
  test(`${kind === 'http' ? 'absolute-form' : 'CONNECT'}: a paused client holds the origin back; resumed, every byte arrives`, async () => {
    const client = net.connect(site.port, '127.0.0.1');
    let got = 0;
    client.on('data', (d: Buffer) => {
      got += d.length;
      client.pause();
    });
    client.write(request());
    // "Nothing more happens for a while" is the behaviour under test: without backpressure the origin
    // writes all 32 MB in far less than this. A slow machine only makes the window longer (never a false failure).
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok(written[kind] < SIZE / 2, `the origin wrote ${written[kind]} of ${SIZE} bytes to a client that read ${got}`);
    client.removeAllListeners('data');
    // Done when more than the body has arrived (the head or the 200 line came with the first chunk).
    const all = new Promise<void>((resolve) => {
      client.on('data', (d: Buffer) => {
        got += d.length;
        if (got > SIZE) resolve();
      });
    });
    client.resume();
    let timer: NodeJS.Timeout | undefined;
    // Only a bound for a hang (32 MB over loopback takes well under a second when idle).
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, 30_000)))]);
    clearTimeout(timer);
    assert.ok(got > SIZE, `received ${got} bytes`);
    client.destroy();
  });
}
