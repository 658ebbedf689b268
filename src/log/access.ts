import os from 'node:os';
import { Bytes, NUM_ROOM, base36, digits3, jsonRoom, jsonString, millis, num, put, raw, rawRoom } from './bytes.js';
import type { ByteBatch, LogSink } from './logger.js';
import { timestamp } from './logger.js';
import { REQUEST_ID_PREFIX } from './trace.js';

/**
 * What the engine knows of a finished request. `id`, `remote`, `method` and `version` go into the
 * JSON line without an escape check: the engine's values are plain by construction (a generated or
 * validated id, an IP address, an HTTP token, digits). The log keeps the record until it formats
 * the line (at once, or at the end of the event-loop turn for a file), and reads it only then: the
 * engine hands over the request's exchange itself, whose `trace`, `version` and `ua` are getters.
 */
export interface AccessRecord {
  /** The request id (`X-Request-Id`). */
  readonly id: string;
  /** The counter a generated `id` was made from (`id` is `requestIdOf(seq)`, log/trace.ts); 0 or absent for an id from elsewhere. */
  seq?: number | undefined;
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
  /** The client connection's {@link AccessConnection}, when the engine keeps one per connection. */
  conn?: AccessConnection | undefined;
}

/**
 * What the JSON access log keeps per client connection: the end of the line it last wrote for it
 * (`,"remote":…` to the newline), written again as a copy while `remote`, `port`, `version`,
 * `aborted` and `ua` stay the same, as they do from one request to the next on a kept-alive
 * connection. Without it each line checks and copies those strings a character at a time (~40
 * instructions each: a browser's User-Agent alone is ~100 characters).
 */
export class AccessConnection {
  /** `","method":…,"bytes":` of the last line, while its method, url and status repeat (a client polling one endpoint, a benchmark). */
  middle: Bytes | undefined = undefined;
  method = '';
  url = '';
  status = 0;
  tail: Bytes | undefined = undefined;
  remote = '';
  port = 0;
  version = '';
  aborted = false;
  ua: string | undefined = undefined;
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
  readonly #host: string;
  /** Its most bytes in UTF-8. */
  readonly #hostRoom: number;
  /** `{"level":30,"time":` and the digits of the current time, then {@link #host}; remade when the second changes, its milliseconds rewritten when the time does (once per turn's batch). */
  #head: Buffer = Buffer.alloc(0);
  /** The same followed by the generated ids' prefix. */
  #headSeq: Buffer = Buffer.alloc(0);
  /** Where the milliseconds go in both. */
  #msAt = 0;
  #second = -Infinity;
  /** The time whose milliseconds the heads hold. */
  #headNow = NaN;
  /** `","method":"GET","url":` and the like, for the methods seen so far (up to {@link METHODS}). */
  readonly #methods: { method: string; bytes: Bytes }[] = [];
  /** The last line's method and its run: most lines have the method of the line before. */
  #lastMethod = '';
  #lastMethodRun = new Bytes('');
  /** `,"status":200,"bytes":` and the like, by status. */
  readonly #statuses: (Bytes | undefined)[] = [];
  /** For sinks without a batch of their own, and lines too long for one. */
  readonly #scratch: Scratch;
  #viewOf: Buffer | undefined;
  #view: DataView = new DataView(new ArrayBuffer(0));
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {
    this.#host = `,"pid":${process.pid},"hostname":${JSON.stringify(os.hostname())},"reqId":"`;
    this.#hostRoom = rawRoom(this.#host);
    this.#scratch = new Scratch(sink);
  }

  /**
   * JSON records waiting for the end of the event-loop turn (file sinks only). A turn's lines are
   * formatted together, in one loop, so the formatter's code and constants stay in the CPU's caches
   * for all of them (callgrind: fewer instruction-cache misses than one line inside each request,
   * where the same code cost a server about three times what it costs in a loop), and the wall
   * clock is read once per turn (docs/performance.md, "Session 7").
   */
  readonly #queue: AccessRecord[] = [];
  #queued = false;
  readonly #drain = (): void => {
    this.#queued = false;
    this.flush();
  };

  write(r: AccessRecord): void {
    if (this.format === 'json') {
      // A sink without a batch (the console) gets its line at once, as a developer watching it expects.
      if (this.sink.batch === undefined) return this.#json(r, Date.now());
      this.#queue.push(r);
      if (!this.#queued) {
        this.#queued = true;
        setImmediate(this.#drain);
      }
      return;
    }
    const url = redactTarget(r.url);
    // <ip>:<port> <request-line> <status> <bytes>, then the time taken and the request id (our
    // additions). A tunnel's bytes are <up>/<down>, as Skitai logged them.
    const bytes = r.up === undefined ? `${r.bytes}` : `${r.up}/${r.bytes}`;
    this.sink.write(
      `${timestamp()} [info] ${r.remote}:${r.port} ${r.method} ${url} HTTP/${r.version} ${r.status} ${bytes} ${r.ms.toFixed(1)}ms${r.aborted ? ' aborted' : ''} ${r.id}${r.trace === undefined ? '' : ` trace=${r.trace}`}`,
    );
  }

  /** Write the lines still waiting for the end of the turn into the sink's batch. */
  flush(): void {
    const q = this.#queue;
    if (q.length === 0) return;
    const now = Date.now();
    for (let i = 0; i < q.length; i++) this.#json(q[i]!, now);
    q.length = 0;
  }

  /** Reopen the sink (after a rotation), its waiting lines written to the old file first. */
  reopen(): void {
    this.flush();
    this.sink.reopen();
  }

  /** Close the sink, every line written first. */
  close(): Promise<void> {
    this.flush();
    return this.sink.close();
  }

  /**
   * The line as the runs of bytes that repeat (the head per second, the method's and the status's
   * keys, the connection's end of line) copied whole, and what changes per request written in
   * between: the id's counter, the url, the numbers.
   */
  #json(r: AccessRecord, now: number): void {
    // Each field read once: on an exchange `trace`, `version` and `ua` are getters.
    const { id, method, remote, status, conn: c } = r;
    const trace = r.trace;
    const version = r.version;
    const ua = r.ua;
    const rawUrl = r.url;
    const url = redactTarget(rawUrl);
    const room = ROOM + this.#hostRoom + rawRoom(id) + rawRoom(trace) + rawRoom(method) + rawRoom(remote) + rawRoom(version) + jsonRoom(url) + jsonRoom(ua);
    const batch = this.sink.batch !== undefined && room <= this.sink.batch.limit ? this.sink.batch : this.#scratch;
    let at = batch.claim(room);
    const b = batch.bytes;
    if (b !== this.#viewOf) {
      this.#viewOf = b;
      this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const v = this.#view;
    const seq = r.seq ?? 0;
    at = this.#time(v, b, at, now, seq > 0);
    at = seq > 0 ? base36(b, at, seq) : raw(b, at, id);
    if (trace !== undefined) at = raw(b, put(v, b, at, TRACE), trace);
    if (c !== undefined && c.middle !== undefined && c.url === rawUrl && c.method === method && c.status === status) at = put(v, b, at, c.middle);
    else {
      const from = at;
      at = jsonString(b, method === this.#lastMethod ? put(v, b, at, this.#lastMethodRun) : this.#method(v, b, at, method), url);
      at = this.#status(v, b, at, status);
      if (c !== undefined) {
        c.middle = at - from <= MIDDLE_MAX ? new Bytes(b.subarray(from, at)) : undefined;
        c.method = method;
        c.url = rawUrl;
        c.status = status;
      }
    }
    at = num(b, at, r.bytes);
    at = millis(b, put(v, b, at, MS), r.ms);
    const up = r.up;
    const port = r.port;
    const aborted = r.aborted;
    if (c === undefined || up !== undefined) at = this.#end(v, b, at, remote, port, version, aborted, ua, up);
    else if (c.tail !== undefined && c.remote === remote && c.port === port && c.version === version && c.aborted === aborted && c.ua === ua) {
      b.set(c.tail.bytes, at);
      at += c.tail.bytes.length;
    } else {
      const from = at;
      at = this.#end(v, b, at, remote, port, version, aborted, ua, undefined);
      c.tail = at - from <= TAIL_MAX ? new Bytes(b.subarray(from, at)) : undefined;
      c.remote = remote;
      c.port = port;
      c.version = version;
      c.aborted = aborted;
      c.ua = ua;
    }
    batch.commit(at);
  }

  /**
   * `{"level":30,"time":<epoch ms>` and the host part up to the id (with the generated ids' prefix
   * when `seq`): one copy of a run made once a second, and the milliseconds written into it.
   */
  #time(v: DataView, b: Buffer, at: number, now: number, seq: boolean): number {
    if (now - this.#second >= 1000 || now < this.#second) {
      // A clock before 1970-01-01T00:00:01 (broken, or faked in a test) has no second's digits to reuse.
      if (now < 1000) {
        at = raw(b, num(b, put(v, b, at, HEAD), now), this.#host);
        return seq ? raw(b, at, REQUEST_ID_PREFIX) : at;
      }
      this.#second = now - (now % 1000);
      const head = `{"level":30,"time":${this.#second / 1000}`;
      this.#msAt = head.length;
      this.#head = Buffer.from(`${head}000${this.#host}`);
      this.#headSeq = Buffer.from(`${head}000${this.#host}${REQUEST_ID_PREFIX}`);
      this.#headNow = NaN;
    }
    if (now !== this.#headNow) {
      this.#headNow = now;
      digits3(this.#head, this.#msAt, now - this.#second);
      digits3(this.#headSeq, this.#msAt, now - this.#second);
    }
    const h = seq ? this.#headSeq : this.#head;
    b.set(h, at);
    return at + h.length;
  }

  /** `","method":"GET","url":` (the url's quote is the url's). */
  #method(v: DataView, b: Buffer, at: number, method: string): number {
    const known = this.#methods;
    for (let i = 0; i < known.length; i++) {
      if (known[i]!.method === method) {
        this.#lastMethod = method;
        this.#lastMethodRun = known[i]!.bytes;
        return put(v, b, at, known[i]!.bytes);
      }
    }
    const start = at;
    at = put(v, b, raw(b, put(v, b, at, METHOD), method), URL);
    if (known.length < METHODS) known.push({ method, bytes: new Bytes(b.subarray(start, at)) });
    return at;
  }

  /** `,"status":200,"bytes":`. */
  #status(v: DataView, b: Buffer, at: number, status: number): number {
    if (status >= 0 && status < 1000 && (status | 0) === status) {
      const known = this.#statuses[status];
      if (known !== undefined) return put(v, b, at, known);
      const start = at;
      at = put(v, b, num(b, put(v, b, at, STATUS), status), BYTES);
      this.#statuses[status] = new Bytes(b.subarray(start, at));
      return at;
    }
    return put(v, b, num(b, put(v, b, at, STATUS), status), BYTES);
  }

  /** `,"remote":…` to the newline. */
  #end(v: DataView, b: Buffer, at: number, remote: string, port: number, version: string, aborted: boolean, ua: string | undefined, up: number | undefined): number {
    at = raw(b, put(v, b, at, REMOTE), remote);
    at = num(b, put(v, b, at, PORT), port);
    at = raw(b, put(v, b, at, VERSION), version);
    at = put(v, b, at, aborted ? ABORTED : COMPLETE);
    if (ua !== undefined) at = jsonString(b, put(v, b, at, UA), ua);
    if (up !== undefined) at = num(b, put(v, b, at, UP), up);
    return put(v, b, at, END);
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
/** The constants, the id's prefix, and six numbers (the time's digits, when not in the head). */
const ROOM = 256 + REQUEST_ID_PREFIX.length + 6 * NUM_ROOM;
/** Methods whose keys are kept as one run; others (h2 allows any token) are written each time. */
const METHODS = 16;
/** The longest end of line kept per connection (a User-Agent may be huge). */
const TAIL_MAX = 1024;
/** The longest method-url-status run kept per connection. */
const MIDDLE_MAX = 512;

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
