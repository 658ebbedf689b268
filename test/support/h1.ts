/**
 * For the reverse proxy's member client (src/transport/h1): a raw `net` member that answers with
 * exactly the bytes a test gives, and a handler that collects one exchange.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { MemberPool } from '../../src/transport/h1/pool.js';
import type { H1Handler, H1Request } from '../../src/transport/h1/types.js';

/** One request as the raw member read it. */
export interface Seen {
  readonly head: string;
  readonly path: string;
  /** Which connection of the server (1, 2, …) carried it. */
  readonly conn: number;
  readonly socket: net.Socket;
  /** Bytes after the head that arrived with it (or later, for bodies: see `bodyOf`). */
  body: Buffer;
}

/**
 * A member that reads request heads (bodies by Content-Length, or chunked to the last chunk) and
 * calls `answer(seen)`, which writes whatever bytes it likes to `seen.socket` (or nothing).
 */
export class RawMember {
  readonly server: net.Server;
  readonly seen: Seen[] = [];
  connections = 0;
  readonly sockets = new Set<net.Socket>();
  answer: (seen: Seen) => void = (s) => void s.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');

  constructor() {
    this.server = net.createServer((socket) => {
      const conn = ++this.connections;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      let current: Seen | undefined;
      let want = 0;
      let chunked = false;
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          if (current === undefined) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const head = buf.subarray(0, end).toString('latin1');
            buf = buf.subarray(end + 4);
            const path = head.split(' ')[1] ?? '';
            current = { head, path, conn, socket, body: Buffer.alloc(0) };
            const length = /\r\ncontent-length: *(\d+)/i.exec(head);
            chunked = /\r\ntransfer-encoding: *chunked/i.test(head);
            want = length ? Number(length[1]) : 0;
          }
          if (chunked) {
            const last = buf.indexOf('0\r\n\r\n');
            if (last < 0 || (last > 0 && buf[last - 1] !== 10)) return;
            current.body = buf.subarray(0, last + 5);
            buf = buf.subarray(last + 5);
          } else {
            if (buf.length < want) return;
            current.body = buf.subarray(0, want);
            buf = buf.subarray(want);
          }
          const seen = current;
          current = undefined;
          this.seen.push(seen);
          this.answer(seen);
        }
      });
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** One exchange as a user of the pool sees it. */
export interface Got {
  status: number;
  reason: string;
  headers: string[];
  body: Buffer;
  error: (Error & { code?: string }) | undefined;
  /** onHeaders was called before the error (a body-level failure). */
  headed: boolean;
}

/** A handler collecting an exchange; `pauseAfter` bytes: returns false then (test resumes). */
export function collector(): { handler: H1Handler; done: Promise<Got>; got: Got; resume: () => void; abort: (err?: Error) => void } {
  const got: Got = { status: 0, reason: '', headers: [], body: Buffer.alloc(0), error: undefined, headed: false };
  let finish: (g: Got) => void = () => undefined;
  const done = new Promise<Got>((resolve) => (finish = resolve));
  const chunks: Buffer[] = [];
  const out = {
    got,
    done,
    resume: () => undefined as void,
    abort: (_err?: Error) => undefined as void,
    handler: {
      onConnect(abort: (err?: Error) => void) {
        out.abort = abort;
      },
      onHeaders(status: number, raw: string[] | Buffer[], resume: () => void, reason: string) {
        got.status = status;
        got.reason = reason;
        got.headers = raw.map((b) => (typeof b === 'string' ? b : b.toString('latin1')));
        got.headed = true;
        out.resume = resume;
        return true;
      },
      onData(chunk: Buffer) {
        chunks.push(Buffer.from(chunk));
        return true;
      },
      onComplete() {
        got.body = Buffer.concat(chunks);
        finish(got);
      },
      onError(err: Error) {
        got.body = Buffer.concat(chunks);
        got.error = err;
        finish(got);
      },
    } satisfies H1Handler,
  };
  return out;
}

/** Send `req` (GET `path` by default) and wait for its end. */
export function fetch1(pool: MemberPool, path: string, req: Partial<H1Request> = {}): Promise<Got> {
  const c = collector();
  pool.dispatch({ method: 'GET', path, headers: [], body: null, headersTimeout: 5000, bodyTimeout: 5000, ...req }, c.handler);
  return c.done;
}
