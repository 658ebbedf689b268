import type { LogSink } from './logger.js';
import { timestamp } from './logger.js';

/** What the engine knows of a finished request. */
export interface AccessRecord {
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

/** One line per response, in Skitai's format or as JSON; request targets without user info. */
export class AccessLog {
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {}

  write(record: AccessRecord): void {
    const r = record.url.includes('@') ? { ...record, url: redactTarget(record.url) } : record;
    if (this.format === 'json') {
      this.sink.write(JSON.stringify({ time: new Date().toISOString(), ...r, ms: Math.round(r.ms * 1000) / 1000 }));
      return;
    }
    // <ip>:<port> <request-line> <status> <bytes>, then the time taken (our addition). A tunnel's
    // bytes are <up>/<down>, as Skitai logged them.
    const bytes = r.up === undefined ? `${r.bytes}` : `${r.up}/${r.bytes}`;
    this.sink.write(
      `${timestamp()} [info] ${r.remote}:${r.port} ${r.method} ${r.url} HTTP/${r.version} ${r.status} ${bytes} ${r.ms.toFixed(1)}ms${r.aborted ? ' aborted' : ''}`,
    );
  }
}
