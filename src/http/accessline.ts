import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders } from 'node:http2';
import { AccessConnection, type AccessLog } from '../log/access.js';
import { incomingTrace } from '../log/trace.js';
import type { RequestExchange } from './exchange.js';
import { sentBytes } from './traffic.js';

/** What the access line keeps on an HTTP/1.1 client socket, from its first response on. */
class Connection {
  /** The socket's bytes sent when its previous response ended: where this response's bytes start. */
  sent = 0;
  readonly log = new AccessConnection();
  constructor(readonly port: number) {}
}

const CONNECTION = Symbol('skitai.accessConnection');
type Tagged = Socket & { [CONNECTION]?: Connection };

/**
 * An exchange's access line: the exchange itself is the record handed to the access log, with the
 * response's status, bytes, time and the client's port stored on it at the end; the rest the log
 * reads from it when it formats the line, at the end of the event-loop turn.
 *
 * An HTTP/1.1 response's bytes are the socket's bytes sent at its end minus those at the end of the
 * previous response on the connection, kept on the socket: one read of the socket's counter per
 * request, not one at the start and one at the end (each read goes through two getters and a call
 * into C++). The client's port is read once per connection too.
 */
export class AccessLine {
  constructor(readonly log: AccessLog) {}

  /** `bytes`: the response's bytes when the engine knows them (a WebSocket handshake: none are counted). */
  write(ex: RequestExchange, status: number, aborted: boolean, bytes?: number): void {
    const req = ex.req;
    const socket = ex.socket as Tagged;
    let port: number;
    let conn: AccessConnection | undefined;
    if (req.httpVersionMajor === 2) {
      // The session's socket, shared by concurrent streams: the bytes between this stream's start and end.
      bytes ??= sentBytes(socket) - ex.sentBefore;
      port = socket.remotePort ?? 0;
      conn = undefined;
    } else {
      let c = socket[CONNECTION];
      if (c === undefined) c = socket[CONNECTION] = new Connection(socket.remotePort ?? 0);
      if (bytes === undefined) {
        const sent = sentBytes(socket);
        bytes = sent - c.sent;
        c.sent = sent;
      }
      port = c.port;
      conn = c.log;
    }
    // The exchange is the record (it holds the id, the client, the target; the version, trace id and
    // User-Agent are read when the line is formatted): only what the end of the response knows is stored.
    ex.status = status;
    ex.bytes = bytes;
    ex.ms = performance.now() - ex.start;
    ex.aborted = aborted;
    ex.port = port;
    ex.conn = conn;
    this.log.write(ex);
  }

  /** The line of an h2 stream answered at the stream event, without an exchange (http/h2fast.ts). */
  writeStream(id: string, headers: IncomingHttpHeaders, remote: string, port: number, start: number, status: number, bytes: number, aborted: boolean): void {
    this.log.write({
      // trace: what RequestExchange#traceId() gives for a request that made no outgoing call.
      id, trace: incomingTrace(headers.traceparent)?.slice(0, 32), remote, port, method: headers[':method'] as string, url: headers[':path'] as string,
      version: '2.0', status, bytes, ms: performance.now() - start, aborted, ua: headers['user-agent'],
    });
  }

}
