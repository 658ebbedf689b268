import { after, before } from 'node:test';
/**
 * A web root on disk and a real node:http server around a StaticHandler, for the static tests.
 * The server mounts the handler on '' and on '/static', and answers 404 `declined` when the
 * handler declines, the way the engine falls through to the next handler.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Exchange } from '../../src/http/handler.js';
import { StaticHandler, type StaticOptions } from '../../src/handlers/static.js';

export const SECRET = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
export const CSS = Array.from({ length: 120 }, (_, i) => `.rule-${i} { color: #${(i * 4099).toString(16).padStart(6, '0').slice(0, 6)}; margin: ${i}px; }`).join('\n');
export const BIG = randomBytes(1024 * 1024);
export const BIG_TEXT = 'lorem ipsum dolor sit amet '.repeat(4000); // ~105 KiB, above the memory limit
export const HELLO = '<!DOCTYPE html><title>hello</title><p>Hello, world</p>\n';

/** Build the tree: `<tmp>/www` is the root, `<tmp>/outside/secret.txt` must never be served. */
export function makeTree(): { dir: string; root: string; outside: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-static-'));
  const root = path.join(dir, 'www');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'hello.html'), HELLO);
  fs.writeFileSync(path.join(root, 'app.css'), CSS);
  fs.writeFileSync(path.join(root, 'big.bin'), BIG);
  fs.writeFileSync(path.join(root, 'big.txt'), BIG_TEXT);
  fs.writeFileSync(path.join(root, 'with space.txt'), 'spaced out\n');
  fs.writeFileSync(path.join(root, '.hidden'), 'hidden but served\n');
  fs.writeFileSync(path.join(root, 'noext'), 'no extension\n');
  fs.writeFileSync(path.join(root, 'empty.txt'), '');
  fs.writeFileSync(path.join(root, '%2e%2e'), 'a file literally named %2e%2e\n');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'index.html'), '<p>sub index</p>\n');
  fs.mkdirSync(path.join(root, 'oldstyle'));
  fs.writeFileSync(path.join(root, 'oldstyle', 'index.htm'), '<p>htm index</p>\n');
  fs.mkdirSync(path.join(root, 'noindex'));
  fs.writeFileSync(path.join(root, 'noindex', 'file.txt'), 'x\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-out.txt'));
  fs.symlinkSync(outside, path.join(root, 'linkdir-out'));
  fs.symlinkSync('hello.html', path.join(root, 'link-in.html'));
  execFileSync('mkfifo', [path.join(root, 'pipe.txt')]);
  return { dir, root, outside };
}

/** A running test server. */
export interface Served {
  handler: StaticHandler;
  port: number;
  close(): Promise<void>;
}

/** Start a node:http server on 127.0.0.1:0 that builds an Exchange per request and asks `handler`. */
export async function serve(root: string, options: StaticOptions = { maxAge: 60 }): Promise<Served> {
  const handler = new StaticHandler(root, options);
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const ex: Exchange = {
      req, res,
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      remote: req.socket.remoteAddress ?? '',
      method: req.method ?? 'GET',
      devel: false,
      compressMin: 1024,
      start: performance.now(),
      id: 'test',
      traceparent: () => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    };
    const mounted = ex.path === '/static' || ex.path.startsWith('/static/');
    const prefix = mounted ? '/static' : '';
    Promise.resolve(handler.handle(ex, prefix, ex.path.slice(prefix.length))).then(
      (taken) => {
        if (!taken) res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 8 }).end('declined');
      },
      (err: unknown) => res.writeHead(599).end(`handler rejected: ${String(err)}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    handler, port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A response read whole. */
export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with node:http (no automatic decompression, unlike fetch). */
export function get(port: number, target: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Send a request target byte for byte over a raw socket, for paths that fetch and node:http would
 * normalise or refuse to send. Returns the status and everything after the header block.
 */
export function rawGet(port: number, target: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body: split < 0 ? '' : text.slice(split + 4) });
    });
    socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'latin1'));
  });
}

/** Remove the temp tree. */
export function removeTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Build the test tree and serve it for the whole file: registers before/after hooks and hands the
 * tree and server to `ready` once they exist.
 */
export function useServedTree(ready: (tree: ReturnType<typeof makeTree>, srv: Served) => void, options: StaticOptions = { maxAge: 60 }): void {
  let tree: ReturnType<typeof makeTree> | undefined;
  let srv: Served | undefined;
  before(async () => {
    tree = makeTree();
    srv = await serve(tree.root, options);
    ready(tree, srv);
  });
  after(async () => {
    await srv?.close();
    if (tree) removeTree(tree.dir);
  });
}
