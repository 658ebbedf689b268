import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { promisify } from 'node:util';

/**
 * Origins for forward-proxy tests, all real servers on 127.0.0.1:0: an HTTP echo, an HTTPS server,
 * a raw TCP server that records its connections, and a port nobody listens on.
 */

/** What the echo origin saw, as it answers it (JSON). */
export interface Echoed {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  length: number;
  sha256: string;
}

/** Bytes the `/big` route streams: BLOCK repeated, in writes that honour backpressure. */
export const BIG_SIZE = 8 * 1024 * 1024;
const BLOCK = randomBytes(64 * 1024);

/** The sha256 of `/big`'s body. */
export function bigSha(): string {
  const hash = createHash('sha256');
  for (let off = 0; off < BIG_SIZE; off += BLOCK.length) hash.update(BLOCK);
  return hash.digest('hex');
}

/**
 * The echo origin: `/big` streams BIG_SIZE bytes, `/hang` never answers (its request is recorded in
 * `hanging`), anything else answers with an {@link Echoed} of the request and its body.
 */
export function echoHandler(hanging: http.IncomingMessage[]): http.RequestListener {
  return (req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG_SIZE });
      let off = 0;
      const write = (): void => {
        while (off < BIG_SIZE) {
          off += BLOCK.length;
          if (!res.write(BLOCK)) return void res.once('drain', write);
        }
        res.end();
      };
      return write();
    }
    if (req.url === '/hang') return void hanging.push(req);
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => {
      length += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      const body: Echoed = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, length, sha256: hash.digest('hex') };
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'echo', 'keep-alive': 'timeout=5', 'proxy-agent': 'origin' }).end(JSON.stringify(body));
    });
  };
}

/** A listening server and its port. */
/**
 * An origin that writes a 64 MiB body as fast as its reader takes it, for clients that stop
 * reading; `closed` is called when its response closes (the proxy gave up on it).
 */
export function floodHandler(closed: () => void): http.RequestListener {
  return (req, res) => {
    res.on('close', closed);
    res.writeHead(200, { 'content-length': 64 * 1024 * 1024 });
    const block = Buffer.alloc(64 * 1024, 1);
    const write = (): void => {
      while (res.write(block));
      res.once('drain', write);
    };
    write();
  };
}

export async function listen<T extends net.Server>(server: T): Promise<T & { port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

export function startEcho(hanging: http.IncomingMessage[]): Promise<http.Server & { port: number }> {
  return listen(http.createServer(echoHandler(hanging)));
}

export function startHttps(cert: string, key: string): Promise<https.Server & { port: number }> {
  return listen(https.createServer({ cert, key }, (req, res) => res.end(`secure hello ${req.url}`)));
}

/** A raw TCP origin that echoes `echo:` + bytes back and keeps every accepted socket in `sockets`. */
export function startTcp(sockets: net.Socket[]): Promise<net.Server & { port: number }> {
  return listen(
    net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    }),
  );
}

/** A port that was free a moment ago: connecting to it is refused. */
export async function deadPort(): Promise<number> {
  const server = await listen(net.createServer());
  await new Promise((resolve) => server.close(resolve));
  return server.port;
}

/** Run curl; resolves with its stdout and exit code (never rejects for curl's own failures). */
export async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * Resolves when `socket` is closed, or with false after `ms`, raised to at least 10 s: the bound
 * only catches a close that never comes, and must not fail a loaded machine that is merely slow.
 */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), Math.max(ms, 10_000));
    socket.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}
