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
 * An exchange's access line: its record is filled in from the exchange and handed to the access
 * log. One record is reused for every request, since the log reads it only while writing: with the
 * log on, every request would otherwise allocate one more object of a dozen fields.
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
    // A new record per line: one the log kept would be old, and every store of this request's strings into it would pay the GC's write barrier.
    this.log.write({
      id: ex.id, seq: ex.seq, trace: ex.traceId(), remote: ex.remote, port, method: ex.method, url: ex.url, version: req.httpVersion,
      status, bytes, ms: performance.now() - ex.start, aborted, ua: ex.headers['user-agent'], conn,
    });
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
