import os from 'node:os';
import type { LogSink } from './logger.js';
import { timestamp } from './logger.js';

/**
 * What the engine knows of a finished request. `id`, `remote`, `method` and `version` go into the
 * JSON line without an escape check: the engine's values are plain by construction (a generated or
 * validated id, an IP address, an HTTP token, digits), and the check is a regular expression per field.
 */
export interface AccessRecord {
  /** The request id (`X-Request-Id`). */
  id: string;
  /** The W3C trace id (32 hex digits) from the request's `traceparent`, or of the trace started for its outgoing calls. */
  trace?: string | undefined;
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
 * `hostname`, `reqId`, `traceId`, `method`, `url`, `status`, `bytes`, `ms`, `remote`, `port`, `version`,
 * `aborted`, `ua`, `msg: "request"`); request targets without user info.
 *
 * The JSON line is written by hand rather than through pino: the record's fields are fixed, so
 * one template with a quick escape check per string costs about a third of pino's generic
 * serialisation (bench/access-log.mjs), and the line is the same as pino's, key order included.
 */
export class AccessLog {
  readonly #head: string;
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {
    this.#head = `{"level":30,"time":`;
    this.#host = `,"pid":${process.pid},"hostname":${JSON.stringify(os.hostname())}`;
  }
  readonly #host: string;

  write(record: AccessRecord): void {
    const r = record.url.includes('@') ? { ...record, url: redactTarget(record.url) } : record;
    if (this.format === 'json') {
      const line =
        `${this.#head}${Date.now()}${this.#host},"reqId":"${r.id}"${r.trace === undefined ? '' : `,"traceId":"${r.trace}"`},"method":"${r.method}","url":${str(r.url)}` +
        `,"status":${r.status},"bytes":${r.bytes},"ms":${Math.round(r.ms * 1000) / 1000},"remote":"${r.remote}","port":${r.port}` +
        `,"version":"${r.version}","aborted":${r.aborted}${r.ua === undefined ? '' : `,"ua":${str(r.ua)}`}` +
        `${r.up === undefined ? '' : `,"up":${r.up}`},"msg":"request"}\n`;
      if (this.sink.writeRaw) this.sink.writeRaw(line);
      else this.sink.write(line.slice(0, -1));
      return;
    }
    // <ip>:<port> <request-line> <status> <bytes>, then the time taken and the request id (our
    // additions). A tunnel's bytes are <up>/<down>, as Skitai logged them.
    const bytes = r.up === undefined ? `${r.bytes}` : `${r.up}/${r.bytes}`;
    this.sink.write(
      `${timestamp()} [info] ${r.remote}:${r.port} ${r.method} ${r.url} HTTP/${r.version} ${r.status} ${bytes} ${r.ms.toFixed(1)}ms${r.aborted ? ' aborted' : ''} ${r.id}${r.trace === undefined ? '' : ` trace=${r.trace}`}`,
    );
  }
}

// What JSON must escape: quotes, backslashes, control characters, and lone surrogates (which
// JSON.stringify writes as \u escapes). Anything else goes between quotes as it is.
const ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function str(s: string): string {
  return ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
