import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders } from 'node:http2';
import type { AccessLog, AccessRecord } from '../log/access.js';
import { incomingTrace } from '../log/trace.js';
import type { RequestExchange } from './exchange.js';

/**
 * An exchange's access line: its record is filled in from the exchange and handed to the access
 * log. One record is reused for every request, since the log reads it only while writing: with the
 * log on, every request would otherwise allocate one more object of a dozen fields.
 */
export class AccessLine {
  readonly #r: AccessRecord = { id: '', trace: undefined, remote: '', port: 0, method: '', url: '', version: '', status: 0, bytes: 0, ms: 0, aborted: false, ua: undefined };
  constructor(readonly log: AccessLog) {}

  write(ex: RequestExchange, status: number, bytes: number, aborted: boolean): void {
    const r = this.#r;
    const req = ex.req;
    r.id = ex.id;
    r.trace = ex.traceId();
    r.remote = ex.remote;
    r.port = ex.socket.remotePort ?? 0;
    r.method = ex.method;
    r.url = ex.url;
    r.version = req.httpVersion;
    r.status = status;
    r.bytes = bytes;
    r.ms = performance.now() - ex.start;
    r.aborted = aborted;
    r.ua = req.headers['user-agent'];
    this.log.write(r);
  }

  /** The line of an h2 stream answered at the stream event, without an exchange (http/h2fast.ts). */
  writeStream(id: string, headers: IncomingHttpHeaders, remote: string, port: number, start: number, status: number, bytes: number, aborted: boolean): void {
    const r = this.#r;
    r.id = id;
    // What RequestExchange#traceId() gives for a request that made no outgoing call.
    r.trace = incomingTrace(headers.traceparent)?.slice(0, 32);
    r.remote = remote;
    r.port = port;
    r.method = headers[':method'] as string;
    r.url = headers[':path'] as string;
    r.version = '2.0';
    r.status = status;
    r.bytes = bytes;
    r.ms = performance.now() - start;
    r.aborted = aborted;
    r.ua = headers['user-agent'];
    this.log.write(r);
  }
}
