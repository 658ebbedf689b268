import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { errorResponse, successResponse } from '../../src/rpc/jsonrpc.js';
import { parseMethodCall, serializeFault, serializeMethodResponse } from '../../src/rpc/xmlrpc.js';

/** How a test member answers. Mutable: tests flip a member from healthy to failing and back. */
export type MemberMode = 'ok' | 'error500' | 'reset' | 'down';

/** A request a member saw. */
export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A member server on 127.0.0.1 and an ephemeral port. */
export interface MemberServer {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:port` */
  readonly node: string;
  readonly url: string;
  /** Requests seen, `/health` probes excluded. */
  readonly seen: Seen[];
  readonly hits: number;
  mode: MemberMode;
  /** Milliseconds to wait before answering. */
  delayMs: number;
  /** Stop listening and cut every connection, like a crash. */
  kill(): Promise<void>;
}

export interface MemberOptions {
  readonly mode?: MemberMode;
  readonly delayMs?: number;
  readonly tls?: { readonly key: string; readonly cert: string };
}

/**
 * Answers: XML-RPC (`text/xml`) with `{ name, method, params }` (method `fault` -> a fault);
 * JSON-RPC (`application/json-rpc`) likewise (method `fail` -> an error); `/health` -> 200 unless
 * mode is `down`; `/gzip` -> gzipped JSON; `/html` -> an HTML page; `/bytes` -> octet-stream;
 * anything else -> JSON echo `{ name, method, url, type, body, auth }`.
 */
export async function startMember(name: string, options: MemberOptions = {}): Promise<MemberServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { mode: options.mode ?? 'ok', delayMs: options.delayMs ?? 0 };
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/health') {
        res.writeHead(state.mode === 'down' ? 503 : 200).end('ok');
        return;
      }
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const answer = (): void => {
        if (res.destroyed) return;
        if (state.mode === 'reset') return void req.socket.destroy();
        if (state.mode === 'error500' || state.mode === 'down') {
          res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body><h1>Internal Server Error</h1></body></html>');
          return;
        }
        respond(name, req, res, body);
      };
      if (state.delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, state.delayMs);
        timers.add(t);
      } else answer();
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  server.on(options.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    node: `127.0.0.1:${port}`,
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    get hits() {
      return seen.length;
    },
    get mode() {
      return state.mode;
    },
    set mode(m: MemberMode) {
      state.mode = m;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    async kill() {
      for (const t of timers) clearTimeout(t);
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      server.closeAllConnections?.();
      await closed;
    },
  };
}

function respond(name: string, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('text/xml')) {
    const call = parseMethodCall(body);
    const xml = call.method === 'fault' ? serializeFault(4, 'Too many parameters') : serializeMethodResponse({ name, method: call.method, params: call.params });
    res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
    return;
  }
  if (type.startsWith('application/json-rpc')) {
    const call = JSON.parse(body.toString()) as { method: string; params: unknown[]; id: number };
    const json = call.method === 'fail' ? errorResponse(call.id, -32000, 'nope', { why: 'asked to fail' }) : successResponse(call.id, { name, method: call.method, params: call.params });
    res.writeHead(200, { 'content-type': 'application/json-rpc' }).end(json);
    return;
  }
  const json = JSON.stringify({ name, method: req.method, url: req.url, type, body: body.toString(), auth: req.headers.authorization ?? null });
  if (req.url === '/gzip') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(zlib.gzipSync(json));
  } else if (req.url?.startsWith('/html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><html><body>maintenance</body></html>');
  } else if (req.url === '/bytes') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0, 1, 2, 255]));
  } else {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' }).end(json);
  }
}

// A member in its own process, so a test can SIGKILL it mid-load like a real crash.
const CHILD = `
const http = require('node:http');
const [port, name] = process.argv.slice(1);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/health') return res.end('ok');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ name, url: req.url }));
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

/** A member process; `kill()` is SIGKILL. */
export interface ChildMember {
  readonly port: number;
  readonly node: string;
  kill(): Promise<void>;
}

/** Start a member in a child process, on `port` (0 = any; a killed member's port to bring it back). */
export async function startChildMember(name: string, port = 0): Promise<ChildMember> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD, String(port), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const bound = Number(line.toString().trim());
  return {
    port: bound,
    node: `127.0.0.1:${bound}`,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
