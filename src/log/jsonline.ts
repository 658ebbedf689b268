import os from 'node:os';
import { Bytes, NUM_ROOM, base36, digits3, jsonRoom, jsonString, millis, num, put, raw, rawRoom } from './bytes.js';
import type { ByteBatch, LogSink } from './logger.js';
import { type AccessConnection, type AccessRecord, redactTarget } from './record.js';
import { REQUEST_ID_PREFIX } from './trace.js';

/**
 * The JSON access line, in pino's shape (`level` 30, `time`, `pid`, `hostname`, `reqId`,
 * `traceId`, `method`, `url`, `status`, `bytes`, `remote`, `port`, `version`, `aborted`, `ua`,
 * `up`, `ms`, `msg: "request"`), written by hand rather than through pino, and as bytes rather
 * than a string: its fields are fixed, so each is written straight into the file sink's batch
 * (constants copied, short ASCII strings and integers by a loop, escaping only for a string that
 * needs it), with no string built, flattened and encoded per request. The bytes are the same as
 * pino's for those fields in that order; `ms` comes last so that all a connection's lines have in
 * common is one run, its template (docs/performance.md, "The JSON access log").
 */
export class JsonLine {
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
  /** The time the heads hold. */
  #now = NaN;
  /** True when the time has 13 digits (2001 to 2286), as templates hold it; its digits are then `#t0`…`#t3`, three little-endian words and a byte. */
  #time13 = false;
  #t0 = 0;
  #t1 = 0;
  #t2 = 0;
  #t3 = 0;
  /** `","method":"GET","url":` and the like, for the methods seen so far (up to {@link METHODS}). */
  readonly #methods: { method: string; bytes: Bytes }[] = [];
  /** The last line's method and its run: most lines have the method of the line before. */
  #lastMethod = '';
  #lastMethodRun = new Bytes('');
  /** `,"status":200,"bytes":` and the like, by status. */
  readonly #statuses: (Bytes | undefined)[] = [];
  /** For sinks without a batch of their own, and lines too long for one. */
  readonly #scratch: Scratch;
  #viewOf: Uint8Array | undefined;
  #view: DataView = new DataView(new ArrayBuffer(0));
  constructor(readonly sink: LogSink) {
    this.#host = `,"pid":${process.pid},"hostname":${JSON.stringify(os.hostname())},"reqId":"`;
    this.#hostRoom = rawRoom(this.#host);
    this.#scratch = new Scratch(sink);
  }

  /** The sink's batch when `room` fits in it, else the scratch. */
  #batchFor(room: number): ByteBatch {
    return this.sink.batch !== undefined && room <= this.sink.batch.limit ? this.sink.batch : this.#scratch;
  }
  /** A view of `b` for 32-bit stores, made again only when the batch's buffer changes. */
  #viewFor(b: Uint8Array): DataView {
    if (b !== this.#viewOf) {
      this.#viewOf = b;
      this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.#view;
  }

  /**
   * `r`'s line at the time `now`: from its connection's template when its fields are the
   * template's, else written out, the runs that repeat (the head per second, the method's and the
   * status's keys) copied whole and what changes per request written in between.
   */
  write(r: AccessRecord, now: number): void {
    if (now !== this.#now) this.#clock(now);
    // Each field read once: on an exchange `trace`, `version` and `ua` are getters.
    const { id, method, remote, status, bytes, conn: c } = r;
    const trace = r.trace;
    const version = r.version;
    const ua = r.ua;
    const url = r.url;
    const port = r.port;
    const aborted = r.aborted;
    const up = r.up;
    const seq = r.seq ?? 0;
    if (
      c !== undefined && c.tpl !== undefined && c.url === url && c.method === method && c.status === status && c.remote === remote && c.port === port &&
      c.version === version && c.aborted === aborted && c.ua === ua && up === undefined && this.#time13 && c.generated === seq > 0 &&
      (trace === undefined ? c.traceAt === 0 : c.traceAt !== 0 && trace.length === 32) &&
      this.#fromTemplate(c, c.tpl, id, seq, trace, bytes, r.ms)
    )
      return;
    const redacted = redactTarget(url);
    const room = ROOM + this.#hostRoom + rawRoom(id) + rawRoom(trace) + rawRoom(method) + rawRoom(remote) + rawRoom(version) + jsonRoom(redacted) + jsonRoom(ua);
    const batch = this.#batchFor(room);
    let at = batch.claim(room);
    const b = batch.bytes;
    const v = this.#viewFor(b);
    const from = at;
    if (now >= 1000) {
      const h = seq > 0 ? this.#headSeq : this.#head;
      b.set(h, at);
      at += h.length;
    } else {
      // A clock before 1970-01-01T00:00:01 (broken, or faked in a test) has no second's digits to reuse.
      at = raw(b, num(b, put(v, b, at, HEAD), now), this.#host);
      if (seq > 0) at = raw(b, at, REQUEST_ID_PREFIX);
    }
    const idAt = at;
    at = seq > 0 ? base36(b, at, seq) : raw(b, at, id);
    const idLen = at - idAt;
    let traceAt = 0;
    if (trace !== undefined) {
      traceAt = put(v, b, at, TRACE);
      at = raw(b, traceAt, trace);
    }
    at = jsonString(b, method === this.#lastMethod ? put(v, b, at, this.#lastMethodRun) : this.#method(v, b, at, method), redacted);
    const bytesAt = this.#status(v, b, at, status);
    at = num(b, bytesAt, bytes);
    const bytesLen = at - bytesAt;
    at = raw(b, put(v, b, at, REMOTE), remote);
    at = num(b, put(v, b, at, PORT), port);
    at = raw(b, put(v, b, at, VERSION), version);
    at = put(v, b, at, aborted ? ABORTED : COMPLETE);
    if (ua !== undefined) at = jsonString(b, put(v, b, at, UA), ua);
    if (up !== undefined) at = num(b, put(v, b, at, UP), up);
    at = put(v, b, at, MS);
    // A connection's first line makes no template: most connections that end after one response
    // would never use it. A tunnel's line has `up` and is its connection's last.
    if (c !== undefined && c.lines++ > 0 && up === undefined && this.#time13 && at - from <= TEMPLATE_MAX) {
      let t = c.tpl;
      if (t === undefined || t.length !== at - from) t = c.tpl = new Uint8Array(at - from);
      t.set(b.subarray(from, at));
      c.idAt = idAt - from;
      c.idLen = idLen;
      c.generated = seq > 0;
      c.traceAt = trace === undefined ? 0 : traceAt - from;
      c.bytesAt = bytesAt - from;
      c.bytesLen = bytesLen;
      c.bytes = bytes;
      c.method = method;
      c.url = url;
      c.status = status;
      c.remote = remote;
      c.port = port;
      c.version = version;
      c.aborted = aborted;
      c.ua = ua;
    }
    batch.commit(end(v, b, millis(v, b, at, r.ms)));
  }

  /**
   * The line as its connection's template with the time, id, trace id and bytes written over it;
   * false (nothing committed) when the id or the bytes do not have the template's number of
   * characters, and the line must be written out.
   */
  #fromTemplate(c: AccessConnection, tpl: Uint8Array, id: string, seq: number, trace: string | undefined, bytes: number, ms: number): boolean {
    const n = tpl.length;
    const batch = this.#batchFor(n + FAST_ROOM);
    const at = batch.claim(n + FAST_ROOM);
    const b = batch.bytes;
    const v = this.#viewFor(b);
    b.set(tpl, at);
    v.setInt32(at + TIME_AT, this.#t0, true);
    v.setInt32(at + TIME_AT + 4, this.#t1, true);
    v.setInt32(at + TIME_AT + 8, this.#t2, true);
    b[at + TIME_AT + 12] = this.#t3;
    const idAt = at + c.idAt;
    if ((seq > 0 ? base36(b, idAt, seq) : raw(b, idAt, id)) - idAt !== c.idLen) return false;
    if (trace !== undefined) raw(b, at + c.traceAt, trace);
    // Most responses on a connection are the size of the one before.
    if (bytes !== c.bytes) {
      const bytesAt = at + c.bytesAt;
      if (num(b, bytesAt, bytes) - bytesAt !== c.bytesLen) return false;
    }
    batch.commit(end(v, b, millis(v, b, at + n, ms)));
    return true;
  }

  /**
   * The heads for the time `now`: made once a second, their milliseconds written when the time
   * changes (once per turn's batch), and the time's digits kept for templates.
   */
  #clock(now: number): void {
    this.#now = now;
    this.#time13 = now >= 1e12 && now < 1e13;
    if (now < 1000) return;
    if (now - this.#second >= 1000 || now < this.#second) {
      this.#second = now - (now % 1000);
      const head = `{"level":30,"time":${this.#second / 1000}`;
      this.#msAt = head.length;
      this.#head = Buffer.from(`${head}000${this.#host}`);
      this.#headSeq = Buffer.from(`${head}000${this.#host}${REQUEST_ID_PREFIX}`);
    }
    digits3(this.#head, this.#msAt, now - this.#second);
    digits3(this.#headSeq, this.#msAt, now - this.#second);
    if (this.#time13) {
      const h = this.#head;
      this.#t0 = h.readInt32LE(TIME_AT);
      this.#t1 = h.readInt32LE(TIME_AT + 4);
      this.#t2 = h.readInt32LE(TIME_AT + 8);
      this.#t3 = h[TIME_AT + 12]!;
    }
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
}

// The JSON line's constant parts, in order; `raw` fields go between quotes the constants hold.
const HEAD = new Bytes('{"level":30,"time":');
/** Where the time's digits start. */
const TIME_AT = HEAD.bytes.length;
const TRACE = new Bytes('","traceId":"');
const METHOD = new Bytes('","method":"');
const URL = new Bytes('","url":');
const STATUS = new Bytes(',"status":');
const BYTES = new Bytes(',"bytes":');
const REMOTE = new Bytes(',"remote":"');
const PORT = new Bytes('","port":');
const VERSION = new Bytes(',"version":"');
const COMPLETE = new Bytes('","aborted":false');
const ABORTED = new Bytes('","aborted":true');
const UA = new Bytes(',"ua":');
const UP = new Bytes(',"up":');
const MS = new Bytes(',"ms":');
const END = new Bytes(',"msg":"request"}\n');
const [E0, E1, E2, E3] = END.words as unknown as [number, number, number, number];
const [E16, E17] = END.bytes.subarray(16) as unknown as [number, number];
if (END.bytes.length !== 18) throw new Error('END is written as 18 bytes');

/** {@link END}, as four words and two bytes: a third of what `set()` costs for 18 bytes. */
function end(v: DataView, b: Uint8Array, at: number): number {
  v.setInt32(at, E0, true);
  v.setInt32(at + 4, E1, true);
  v.setInt32(at + 8, E2, true);
  v.setInt32(at + 12, E3, true);
  b[at + 16] = E16;
  b[at + 17] = E17;
  return at + 18;
}

/** The constants, the id's prefix, and six numbers (the time's digits, when not in the head). */
const ROOM = 256 + REQUEST_ID_PREFIX.length + 6 * NUM_ROOM;
/** What a line from a template may write past it: a longer id or bytes (then not committed), the ms, the end. */
const FAST_ROOM = 128;
/** Methods whose keys are kept as one run; others (h2 allows any token) are written each time. */
const METHODS = 16;
/** The longest template kept per connection (a User-Agent or a url may be huge). */
const TEMPLATE_MAX = 2048;

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
