import os from 'node:os';
import { Bytes, NUM_ROOM, digits3, jsonRoom, jsonString, millis, num, put, raw, rawRoom } from './bytes.js';
import type { ByteBatch, LogSink } from './logger.js';
import { timestamp } from './logger.js';

/**
 * What the engine knows of a finished request. `id`, `remote`, `method` and `version` go into the
 * JSON line without an escape check: the engine's values are plain by construction (a generated or
 * validated id, an IP address, an HTTP token, digits). The log reads the record during `write()`
 * only, so the engine may reuse one.
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
 * The JSON line is written by hand rather than through pino, and as bytes rather than a string: its
 * fields are fixed, so each is written straight into the file sink's batch (constants copied, short
 * ASCII strings and integers by a loop, escaping only for a string that needs it), with no string
 * built, flattened and encoded per request. The bytes are the same as pino's, key order included
 * (docs/performance.md, "The JSON access log").
 */
export class AccessLog {
  /** `,"pid":…,"hostname":…,"reqId":"`. */
  readonly #host: Bytes;
  /** `{"level":30,"time":` and the digits of the current second, remade when the second changes. */
  #head = new Bytes('');
  #second = -Infinity;
  /** For sinks without a batch of their own, and lines too long for one. */
  readonly #scratch: Scratch;
  #viewOf: Buffer | undefined;
  #view: DataView = new DataView(new ArrayBuffer(0));
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {
    this.#host = new Bytes(`,"pid":${process.pid},"hostname":${JSON.stringify(os.hostname())},"reqId":"`);
    this.#scratch = new Scratch(sink);
  }

  write(r: AccessRecord): void {
    if (this.format === 'json') return this.#json(r);
    const url = redactTarget(r.url);
    // <ip>:<port> <request-line> <status> <bytes>, then the time taken and the request id (our
    // additions). A tunnel's bytes are <up>/<down>, as Skitai logged them.
    const bytes = r.up === undefined ? `${r.bytes}` : `${r.up}/${r.bytes}`;
    this.sink.write(
      `${timestamp()} [info] ${r.remote}:${r.port} ${r.method} ${url} HTTP/${r.version} ${r.status} ${bytes} ${r.ms.toFixed(1)}ms${r.aborted ? ' aborted' : ''} ${r.id}${r.trace === undefined ? '' : ` trace=${r.trace}`}`,
    );
  }

  #json(r: AccessRecord): void {
    const url = redactTarget(r.url);
    const room = ROOM + this.#host.bytes.length + rawRoom(r.id) + rawRoom(r.trace) + rawRoom(r.method) + rawRoom(r.remote) + rawRoom(r.version) + jsonRoom(url) + jsonRoom(r.ua);
    const batch = this.sink.batch !== undefined && room <= this.sink.batch.limit ? this.sink.batch : this.#scratch;
    let at = batch.claim(room);
    const b = batch.bytes;
    if (b !== this.#viewOf) {
      this.#viewOf = b;
      this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const v = this.#view;
    at = this.#time(v, b, at, Date.now());
    at = put(v, b, at, this.#host);
    at = raw(b, at, r.id);
    if (r.trace !== undefined) at = raw(b, put(v, b, at, TRACE), r.trace);
    at = raw(b, put(v, b, at, METHOD), r.method);
    at = jsonString(b, put(v, b, at, URL), url);
    at = num(b, put(v, b, at, STATUS), r.status);
    at = num(b, put(v, b, at, BYTES), r.bytes);
    at = millis(b, put(v, b, at, MS), r.ms);
    at = raw(b, put(v, b, at, REMOTE), r.remote);
    at = num(b, put(v, b, at, PORT), r.port);
    at = raw(b, put(v, b, at, VERSION), r.version);
    at = put(v, b, at, r.aborted ? ABORTED : COMPLETE);
    if (r.ua !== undefined) at = jsonString(b, put(v, b, at, UA), r.ua);
    if (r.up !== undefined) at = num(b, put(v, b, at, UP), r.up);
    batch.commit(put(v, b, at, END));
  }

  /** `{"level":30,"time":<epoch ms>`: the second's digits are formatted once a second, the milliseconds per line. */
  #time(v: DataView, b: Buffer, at: number, now: number): number {
    if (now - this.#second >= 1000 || now < this.#second) {
      // A clock before 1970-01-01T00:00:01 (broken, or faked in a test) has no second's digits to reuse.
      if (now < 1000) return num(b, put(v, b, at, HEAD), now);
      this.#second = now - (now % 1000);
      this.#head = new Bytes(`{"level":30,"time":${this.#second / 1000}`);
    }
    return digits3(b, put(v, b, at, this.#head), now - this.#second);
  }
}

// The JSON line's constant parts, in order; `raw` fields go between quotes the constants hold.
const HEAD = new Bytes('{"level":30,"time":');
const TRACE = new Bytes('","traceId":"');
const METHOD = new Bytes('","method":"');
const URL = new Bytes('","url":');
const STATUS = new Bytes(',"status":');
const BYTES = new Bytes(',"bytes":');
const MS = new Bytes(',"ms":');
const REMOTE = new Bytes(',"remote":"');
const PORT = new Bytes('","port":');
const VERSION = new Bytes(',"version":"');
const COMPLETE = new Bytes('","aborted":false');
const ABORTED = new Bytes('","aborted":true');
const UA = new Bytes(',"ua":');
const UP = new Bytes(',"up":');
const END = new Bytes(',"msg":"request"}\n');
/** The constants, the head with its 13 digits, and five numbers. */
const ROOM = 256 + 5 * NUM_ROOM;

/** Lines for a sink without a batch (the console, tests), or too long for one: composed here, handed over as a string. */
class Scratch implements ByteBatch {
  bytes = Buffer.allocUnsafeSlow(4096);
  readonly limit = Infinity;
  constructor(readonly sink: LogSink) {}
  claim(max: number): number {
    if (max > this.bytes.length) this.bytes = Buffer.allocUnsafeSlow(max);
    return 0;
  }
  commit(end: number): void {
    const sink = this.sink;
    if (sink.writeRaw) sink.writeRaw(this.bytes.toString('utf8', 0, end));
    else sink.write(this.bytes.toString('utf8', 0, end - 1));
    // One huge request must not keep a huge buffer.
    if (this.bytes.length > 65536) this.bytes = Buffer.allocUnsafeSlow(4096);
  }
}
