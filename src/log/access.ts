import type pino from 'pino';
import type { LogSink } from './logger.js';
import { pinoOver, timestamp } from './logger.js';

/** What the engine knows of a finished request. */
export interface AccessRecord {
  /** The request id (`X-Request-Id`). */
  id: string;
  remote: string;
  port: number;
  method: string;
  url: string;
  version: string;
  status: number;
  /** Bytes written to the socket for this response, headers included (Skitai counts them too). */
  bytes: number;
  /** CONNECT only: bytes relayed from the client to the target (`bytes` then counts target to client). */
  up?: number;
  /** Milliseconds from request to finish. */
  ms: number;
  /** True when the client went away before the response was complete. */
  aborted: boolean;
  /** The User-Agent header, when sent (JSON lines only). */
  ua?: string | undefined;
}

/**
 * A request target without user info: `http://user:pw@host/` -> `http://***@host/`, and CONNECT's
 * `user:pw@host:443` -> `***@host:443`. A forward proxy refuses such targets, but a misconfigured
 * client still sends them, and the password must not reach a log file.
 */
export function redactTarget(url: string): string {
  if (url.charCodeAt(0) === 47 || !url.includes('@')) return url;
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_all, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/**
 * One line per response, in Skitai's format or as JSON in pino's shape (`level` 30, `time`, `pid`,
 * `hostname`, `reqId`, `method`, `url`, `status`, `bytes`, `ms`, `remote`, `ua`, `msg: "request"`);
 * request targets without user info.
 */
export class AccessLog {
  readonly #pino: pino.Logger | undefined;
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {
    if (format === 'json') this.#pino = pinoOver(sink, 'info');
  }

  write(record: AccessRecord): void {
    const r = record.url.includes('@') ? { ...record, url: redactTarget(record.url) } : record;
    const p = this.#pino;
    if (p) {
      // A flat object of strings and numbers: pino's fastest path. Optional fields only when set.
      const line: Record<string, string | number | boolean> = {
        reqId: r.id, method: r.method, url: r.url, status: r.status, bytes: r.bytes, ms: Math.round(r.ms * 1000) / 1000,
        remote: r.remote, port: r.port, version: r.version, aborted: r.aborted,
      };
      if (r.ua !== undefined) line.ua = r.ua;
      if (r.up !== undefined) line.up = r.up;
      p.info(line, 'request');
      return;
    }
    // <ip>:<port> <request-line> <status> <bytes>, then the time taken and the request id (our
    // additions). A tunnel's bytes are <up>/<down>, as Skitai logged them.
    const bytes = r.up === undefined ? `${r.bytes}` : `${r.up}/${r.bytes}`;
    this.sink.write(
      `${timestamp()} [info] ${r.remote}:${r.port} ${r.method} ${r.url} HTTP/${r.version} ${r.status} ${bytes} ${r.ms.toFixed(1)}ms${r.aborted ? ' aborted' : ''} ${r.id}`,
    );
  }
}
