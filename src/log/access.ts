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

/** One line per response, in Skitai's format or as JSON. */
export class AccessLog {
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {}

  write(r: AccessRecord): void {
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
