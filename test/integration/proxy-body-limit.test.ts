/**
 * The reverse proxy's body limit (`max_proxy_body_size`, default `max_body_size`) against real
 * node:http members on 127.0.0.1, driven by curl and raw sockets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseReply } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';

const KiB = 1024;

/** A member that records what reached it: whole bodies (their length and sha256) and requests cut short. */
interface Recorder {
  readonly node: string;
  /** Requests whose head arrived. */
  heads: number;
  /** Bodies received whole: `length sha256`. */
  readonly bodies: string[];
  /** Resolves when a request is cut before its body was complete (the proxy aborted it). */
  cut: Promise<number>;
  close(): Promise<void>;
}

/**
 * `early = true`: the member sends its status line and a first chunk as soon as the request head
 * arrives, before it reads the body, so the proxy's answer has started when the body is cut.
 */
async function recorder(early = false): Promise<Recorder> {
  let onCut: (bytes: number) => void = () => undefined;
  const server = http.createServer((req, res) => {
    rec.heads++;
    if (early) res.writeHead(200, { 'content-type': 'text/plain' }).write('started;');
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      const line = `${size} ${hash.digest('hex')}`;
      rec.bodies.push(line);
      if (!early) res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(line);
    });
    req.on('close', () => {
      if (!req.complete) onCut(size);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const rec: Recorder = {
    node: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads: 0,
    bodies: [],
    cut: new Promise((resolve) => (onCut = resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return rec;
}

const sha = (b: Buffer): string => `${b.length} ${createHash('sha256').update(b).digest('hex')}`;

/** curl, as a user would run it: status code and body. */
async function curl(url: string, args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await promisify(execFile)('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args, url], { maxBuffer: 1 << 24 });
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

/** One chunk of a chunked body. */
const chunk = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);

/**
 * Send a request head and then `chunks`, one per write, and stop (no last chunk): what the server
 * answered, and whether it closed the connection. Resolves when the server closes or after a
 * reply has been quiet for 500 ms.
 */
function rawSend(port: number, head: string, chunks: Buffer[]): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const done = (closed: boolean): void => {
      clearTimeout(quiet);
      socket.destroy();
      resolve({ text: Buffer.concat(got).toString('latin1'), closed });
    };
    socket.on('data', (d: Buffer) => {
      got.push(d);
      clearTimeout(quiet);
      quiet = setTimeout(() => done(false), 500);
    });
    socket.on('end', () => done(true));
    socket.on('error', () => done(true));
    socket.on('connect', () => {
      socket.write(head);
      for (const c of chunks) socket.write(c);
    });
  });
}

let scratch: string;
const sites: TestSite[] = [];
const members: Recorder[] = [];

before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-proxy-limit-'));
});

after(async () => {
  for (const s of sites) await s.close();
  for (const m of members) await m.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function site(server: string, member: Recorder): Promise<TestSite> {
  members.push(member);
  const s = await startSite(`[server]\n${server}\n\n[routes:line]\n/up = @up\n\n[@up]\nmembers = ${member.node}\n`);
  sites.push(s);
  return s;
}

describe('reverse proxy body limit', { timeout: 15_000 }, () => {
  test('by default max_body_size limits: a Content-Length over it is 413 and no member is contacted (curl, and a raw head announcing 10 GB)', async () => {
    const member = await recorder();
    const s = await site('max_body_size = 16K', member);
    const file = path.join(scratch, 'over.bin');
    fs.writeFileSync(file, randomBytes(20 * KiB));
    const got = await curl(`${s.base}/up/x`, ['--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream']);
    assert.equal(got.status, 413);
    assert.match(got.body, /SKT_BODY_TOO_LARGE/);

    // The answer does not wait for the body: only the head is sent.
    const raw = await rawSend(s.port, 'PUT /up/big HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n', []);
    const reply = parseReply(raw.text);
    assert.equal(reply.status, 413);
    assert.equal(reply.headers.connection, 'close');
    assert.equal(raw.closed, true, 'the unread body cannot be followed by another request');

    assert.equal(member.heads, 0, 'the member was never contacted');
    // Under the limit the same route forwards, intact.
    const small = randomBytes(16 * KiB);
    fs.writeFileSync(file, small);
    const ok = await curl(`${s.base}/up/x`, ['--data-binary', `@${file}`]);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, sha(small));
  });

  test('by default a chunked body over max_body_size is 413 while still buffered: no member contacted', async () => {
    const member = await recorder();
    const s = await site('max_body_size = 16K', member);
    const file = path.join(scratch, 'chunked.bin');
    fs.writeFileSync(file, randomBytes(40 * KiB));
    const got = await curl(`${s.base}/up/x`, ['--data-binary', `@${file}`, '-H', 'transfer-encoding: chunked']);
    assert.equal(got.status, 413);
    assert.match(got.body, /SKT_BODY_TOO_LARGE/);
    assert.equal(member.heads, 0);
  });

  describe('with max_proxy_body_size above max_body_size (larger bodies stream)', () => {
    test('a chunked body under the limit streams to the member intact (curl)', async () => {
      const member = await recorder();
      const s = await site('max_body_size = 16K\nmax_proxy_body_size = 256K', member);
      const body = randomBytes(200 * KiB);
      const file = path.join(scratch, 'under.bin');
      fs.writeFileSync(file, body);
      const chunked = await curl(`${s.base}/up/x`, ['--data-binary', `@${file}`, '-H', 'transfer-encoding: chunked']);
      assert.equal(chunked.status, 200);
      assert.equal(chunked.body, sha(body));
      const declared = await curl(`${s.base}/up/x`, ['--data-binary', `@${file}`]);
      assert.equal(declared.status, 200);
      assert.equal(declared.body, sha(body));
      assert.deepEqual(member.bodies, [sha(body), sha(body)]);
    });

    test('a Content-Length over the limit is 413 before any member is contacted', async () => {
      const member = await recorder();
      const s = await site('max_body_size = 16K\nmax_proxy_body_size = 256K', member);
      const raw = await rawSend(s.port, 'POST /up/x HTTP/1.1\r\nHost: x\r\nContent-Length: 262145\r\n\r\n', []);
      assert.equal(parseReply(raw.text).status, 413);
      assert.equal(member.heads, 0);
    });

    test('a chunked body passing the limit mid-stream: the member request is aborted, the client gets 413 and a closed connection', async () => {
      const member = await recorder();
      const s = await site('max_body_size = 16K\nmax_proxy_body_size = 64K', member);
      // 17 chunks of 4 KiB: the 17th passes 64 KiB. Nothing more is sent, so the server has read all of it.
      const chunks = Array.from({ length: 17 }, () => chunk(randomBytes(4 * KiB)));
      const raw = await rawSend(s.port, 'POST /up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunks);
      const reply = parseReply(raw.text);
      assert.equal(reply.status, 413);
      assert.match(reply.body, /SKT_BODY_TOO_LARGE/);
      assert.equal(reply.headers.connection, 'close');
      assert.equal(raw.closed, true);
      const received = await member.cut;
      assert.ok(received <= 64 * KiB, `the member got ${received} bytes, no more than the limit`);
      assert.equal(member.heads, 1);
      assert.deepEqual(member.bodies, [], 'the member never saw a complete body');
    });

    test('a chunked body passing the limit after the member has answered: the client connection is cut', async () => {
      const member = await recorder(true);
      const s = await site('max_body_size = 16K\nmax_proxy_body_size = 64K', member);
      const head = 'POST /up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
      const client = net.connect(s.port, '127.0.0.1');
      let text = '';
      client.setEncoding('latin1');
      client.on('data', (d: string) => (text += d));
      client.on('error', () => undefined);
      const closed = once(client, 'close');
      client.write(head);
      client.write(chunk(randomBytes(20 * KiB)));
      // Wait until the member's answer has started to reach the client, then pass the limit.
      while (!text.includes('started;')) await once(client, 'data');
      for (let i = 0; i < 12; i++) client.write(chunk(randomBytes(4 * KiB)));
      await closed;
      await member.cut;
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.doesNotMatch(text, /\r\n0\r\n\r\n$/, 'the chunked answer never ends properly: the client sees a cut response');
      assert.doesNotMatch(text, /413/, 'never a second response');
    });
  });
});
