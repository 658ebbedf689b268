import { CR, FIELD, HEX, HTAB, LF, SP, TOKEN } from './chars.js';

/**
 * A strict HTTP/1.1 response parser (RFC 9112), incremental over the chunks a socket delivers.
 *
 * Strict because a proxy that frames a response differently from its member is how response
 * splitting and smuggling happen: whatever llhttp in strict mode refuses is refused here, with an
 * `HPE_*` code of the same name — both Content-Length and Transfer-Encoding, a repeated or
 * malformed Content-Length, a transfer coding other than `chunked`, Transfer-Encoding in an
 * HTTP/1.0 answer, bad chunk sizes, obs-fold, a bare LF (or CR) where CRLF is required, whitespace
 * before a header's colon, control bytes in names, values and the reason phrase, and heads or
 * chunk lines over the limits. Bytes after a complete response mark the connection unusable.
 *
 * Interim (1xx) heads are skipped: the proxy never asks for `100-continue` and drops `103`, as it did
 * on undici; a `101` is refused, since no request of the proxy asks to upgrade.
 */

/** What the parser tells its connection; `body()` returning false pauses it (call `execute` again to go on). */
export interface ParserSink {
  /** The final response head. `raw` is `[name, value, …]` as the member wrote them (latin1; values without OWS). */
  head(status: number, reason: string, raw: string[]): void;
  body(chunk: Buffer): boolean;
  /** The whole response has arrived. */
  end(): void;
}

/** A response the parser refuses; `code` names the rule as llhttp does. */
export class ParseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

/** The head (status line and fields) and a trailer section are limited to this many bytes (Node's default). */
export const MAX_HEAD = 16 * 1024;
/** Fields per head. */
export const MAX_FIELDS = 256;
/** A chunk-size line, extensions included. */
const MAX_CHUNK_LINE = 1024;

const enum S {
  HEAD,
  LENGTH,
  CHUNK_SIZE,
  CHUNK_EXT,
  CHUNK_SIZE_LF,
  CHUNK_DATA,
  CHUNK_DATA_CR,
  CHUNK_DATA_LF,
  TRAILERS,
  EOF,
  DONE,
}

const fail = (code: string, message: string): never => {
  throw new ParseError(code, message);
};

export class ResponseParser {
  /** After `end`: the connection may carry another request (HTTP/1.1 keep-alive, framed body, nothing extra). */
  keepAlive = false;
  /** The member's `Keep-Alive: timeout=` in ms, or 0. */
  keepAliveTimeout = 0;
  #state = S.DONE;
  #sink: ParserSink;
  #noBody = false;
  /** Bytes of a head or trailer section not complete yet. */
  #pending: Buffer | undefined;
  /** Body bytes left (LENGTH, CHUNK_DATA) or the chunk size being read. */
  #left = 0;
  #lineBytes = 0;
  #digits = 0;

  constructor(sink: ParserSink) {
    this.#sink = sink;
  }

  /** Expect the response to a request; `head` = it was a HEAD request (no body, whatever the head says). */
  reset(head: boolean): void {
    this.#state = S.HEAD;
    this.#noBody = head;
    this.#pending = undefined;
    this.keepAlive = false;
    this.keepAliveTimeout = 0;
  }

  get done(): boolean {
    return this.#state === S.DONE;
  }

  /** Nothing of the response has arrived yet. */
  get untouched(): boolean {
    return this.#state === S.HEAD && this.#pending === undefined;
  }

  /**
   * Parse `buf` from `at`. Returns where it stopped: `buf.length`, or earlier when the sink paused
   * or the response ended (bytes after it are the caller's to judge). Throws a {@link ParseError}.
   */
  execute(buf: Buffer, at: number): number {
    const end = buf.length;
    while (at < end) {
      switch (this.#state) {
        case S.HEAD:
        case S.TRAILERS: {
          const head = this.#state === S.HEAD;
          let data = buf;
          let from = at;
          const pending = this.#pending;
          if (pending !== undefined) {
            data = Buffer.concat([pending, buf.subarray(at)]);
            from = 0;
          }
          const stop = sectionEnd(data, from, pending === undefined ? from : pending.length);
          if (stop < 0) {
            if (data.length - from > MAX_HEAD) fail('HPE_HEADER_OVERFLOW', head ? 'the response head is too large' : 'the trailer section is too large');
            this.#pending = data.subarray(from);
            return end;
          }
          if (stop - from > MAX_HEAD) fail('HPE_HEADER_OVERFLOW', head ? 'the response head is too large' : 'the trailer section is too large');
          this.#pending = undefined;
          // Where parsing goes on in `buf`: the section ended `data.length - stop` bytes before its end.
          at = end - (data.length - stop);
          if (!head) {
            fields(data, from, stop - 2);
            this.#finish();
            return at;
          }
          if (!this.#head(data, from, stop)) continue; // interim: the final head follows
          if ((this.#state as S) === S.DONE) {
            // No body (HEAD, 204, 304, Content-Length: 0): the response is whole.
            this.#sink.end();
            return at;
          }
          break;
        }
        case S.LENGTH: {
          const n = Math.min(this.#left, end - at);
          this.#left -= n;
          const chunk = buf.subarray(at, at + n);
          at += n;
          if (this.#left === 0) {
            this.#state = S.DONE;
            this.#sink.body(chunk);
            this.#finish();
            return at;
          }
          if (!this.#sink.body(chunk)) return at;
          break;
        }
        case S.EOF: {
          const chunk = at === 0 ? buf : buf.subarray(at);
          at = end;
          if (!this.#sink.body(chunk)) return at;
          break;
        }
        case S.CHUNK_DATA: {
          const n = Math.min(this.#left, end - at);
          this.#left -= n;
          const chunk = buf.subarray(at, at + n);
          at += n;
          if (this.#left === 0) this.#state = S.CHUNK_DATA_CR;
          if (!this.#sink.body(chunk)) return at;
          break;
        }
        default:
          at = this.#chunkFraming(buf, at, end);
          if (this.#state === S.DONE) return at;
      }
    }
    return at;
  }

  /** The connection was closed by the member: the end of a close-delimited body, else a failure. */
  eof(): void {
    if (this.#state === S.EOF) return this.#finish();
    if (this.#state !== S.DONE) fail('H1_SOCKET', this.untouched ? 'the member closed the connection before answering' : 'the member closed the connection before the response ended');
  }

  /** The chunk-size line, the CRLF after chunk data: one byte at a time (these are short). */
  #chunkFraming(buf: Buffer, at: number, end: number): number {
    for (; at < end; at++) {
      const c = buf[at]!;
      switch (this.#state) {
        case S.CHUNK_SIZE: {
          const h = HEX[c]!;
          if (h !== 0) {
            this.#left = this.#left * 16 + h - 1;
            if (this.#left > Number.MAX_SAFE_INTEGER || ++this.#digits > 32) fail('HPE_INVALID_CHUNK_SIZE', 'a chunk size is too large');
          } else if (this.#digits === 0) {
            fail('HPE_INVALID_CHUNK_SIZE', 'a chunk size is not a hexadecimal number');
          } else if (c === 0x3b) {
            this.#state = S.CHUNK_EXT;
          } else if (c === CR) {
            this.#state = S.CHUNK_SIZE_LF;
          } else {
            fail('HPE_INVALID_CHUNK_SIZE', 'a chunk size is followed by something other than an extension or CRLF');
          }
          break;
        }
        case S.CHUNK_EXT:
          if (++this.#lineBytes > MAX_CHUNK_LINE) fail('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'a chunk extension is too long');
          if (c === CR) this.#state = S.CHUNK_SIZE_LF;
          else if (FIELD[c] === 0) fail('HPE_INVALID_CHUNK_SIZE', 'a chunk extension holds a control byte');
          break;
        case S.CHUNK_SIZE_LF:
          if (c !== LF) fail('HPE_LF_EXPECTED', 'a chunk-size line does not end with CRLF');
          if (this.#left === 0) {
            this.#state = S.TRAILERS;
          } else {
            this.#state = S.CHUNK_DATA;
          }
          return at + 1;
        case S.CHUNK_DATA_CR:
          if (c !== CR) fail('HPE_CR_EXPECTED', 'chunk data is not followed by CRLF');
          this.#state = S.CHUNK_DATA_LF;
          break;
        case S.CHUNK_DATA_LF:
          if (c !== LF) fail('HPE_LF_EXPECTED', 'chunk data is not followed by CRLF');
          this.#chunkStart();
          break;
        default:
          return at;
      }
    }
    return at;
  }

  #chunkStart(): void {
    this.#state = S.CHUNK_SIZE;
    this.#left = 0;
    this.#digits = 0;
    this.#lineBytes = 0;
  }

  #finish(): void {
    this.#state = S.DONE;
    this.#sink.end();
  }

  /** Parse a whole head in `data[from, stop)` (ending in CRLF CRLF); false for an interim (1xx) one. */
  #head(data: Buffer, from: number, stop: number): boolean {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    if (
      stop - from < 14 ||
      data[from] !== 0x48 || data[from + 1] !== 0x54 || data[from + 2] !== 0x54 || data[from + 3] !== 0x50 ||
      data[from + 4] !== 0x2f || data[from + 5] !== 0x31 || data[from + 6] !== 0x2e
    ) {
      fail('HPE_INVALID_CONSTANT', 'the status line does not start with HTTP/1.');
    }
    const minor = data[from + 7]!;
    if (minor !== 0x31 && minor !== 0x30) fail('HPE_INVALID_VERSION', 'the response is neither HTTP/1.1 nor HTTP/1.0');
    if (data[from + 8] !== SP) fail('HPE_INVALID_VERSION', 'no space after the HTTP version');
    let status = 0;
    for (let i = from + 9; i < from + 12; i++) {
      const d = data[i]! - 48;
      if (d < 0 || d > 9) fail('HPE_INVALID_STATUS', 'the status code is not three digits');
      status = status * 10 + d;
    }
    const lineEnd = data.indexOf(LF, from) - 1;
    let reason = '';
    if (lineEnd > from + 12) {
      if (data[from + 12] !== SP) fail('HPE_INVALID_STATUS', 'the status code is not three digits');
      for (let i = from + 13; i < lineEnd; i++) if (FIELD[data[i]!] === 0) fail('HPE_INVALID_STATUS', 'the reason phrase holds a control byte');
      reason = data.toString('latin1', from + 13, lineEnd);
    }
    const raw = fields(data, lineEnd + 2, stop - 2);
    if (status < 200) {
      if (status === 101) fail('HPE_INVALID_STATUS', 'the member switched protocols, which was not asked for');
      if (status < 100) fail('HPE_INVALID_STATUS', `the status ${status} is not an HTTP status`);
      return false; // interim: the final response follows
    }
    this.#framing(status, minor === 0x31, raw);
    this.#sink.head(status, reason, raw);
    return true;
  }

  /** How the body is delimited (RFC 9112 §6.3), and whether the connection stays open. */
  #framing(status: number, http11: boolean, raw: string[]): void {
    let length = -1;
    let chunked = false;
    let close = false;
    let keepAlive = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const n = name.length;
      if (n === 14 && name.toLowerCase() === 'content-length') {
        if (length !== -1) fail('HPE_UNEXPECTED_CONTENT_LENGTH', 'Content-Length appears twice');
        length = contentLength(raw[i + 1]!);
      } else if (n === 17 && name.toLowerCase() === 'transfer-encoding') {
        if (chunked) fail('HPE_INVALID_TRANSFER_ENCODING', 'Transfer-Encoding appears twice');
        if (raw[i + 1]!.toLowerCase() !== 'chunked') fail('HPE_INVALID_TRANSFER_ENCODING', 'a transfer coding other than chunked alone');
        if (!http11) fail('HPE_INVALID_TRANSFER_ENCODING', 'Transfer-Encoding in an HTTP/1.0 response');
        chunked = true;
      } else if (n === 10) {
        const lower = name.toLowerCase();
        if (lower === 'connection') {
          const value = raw[i + 1]!.toLowerCase();
          if (value === 'keep-alive') keepAlive = true;
          else if (value === 'close' || hasToken(value, 'close')) close = true;
          else if (hasToken(value, 'keep-alive')) keepAlive = true;
        } else if (lower === 'keep-alive') {
          const m = /(?:^|[\s,])timeout=(\d{1,9})/i.exec(raw[i + 1]!);
          if (m !== null) this.keepAliveTimeout = Number(m[1]) * 1000;
        }
      }
    }
    if (chunked && length !== -1) fail('HPE_UNEXPECTED_CONTENT_LENGTH', 'both Content-Length and Transfer-Encoding');
    // HTTP/1.1 stays open unless told to close; HTTP/1.0 only when it says keep-alive.
    this.keepAlive = !close && (http11 || keepAlive);
    if (this.#noBody || status === 204 || status === 304) {
      this.#state = S.DONE;
    } else if (chunked) {
      this.#chunkStart();
    } else if (length >= 0) {
      this.#left = length;
      this.#state = length === 0 ? S.DONE : S.LENGTH;
    } else {
      this.keepAlive = false;
      this.#state = S.EOF;
    }
  }
}

/**
 * Where a section of field lines ends (the index after its CRLF CRLF), or -1 when more bytes are
 * needed. Every LF must follow a CR. `from` is the section's start, `scan` where to look from.
 */
function sectionEnd(data: Buffer, from: number, scan: number): number {
  let i = Math.max(from, scan);
  for (;;) {
    const lf = data.indexOf(LF, i);
    if (lf < 0) return -1;
    if (lf === from || data[lf - 1] !== CR) fail('HPE_LF_EXPECTED', 'a bare LF in the response head');
    // An empty line: CRLF right after the previous line's CRLF, or at the start of a trailer section.
    if (lf - 1 === from || (lf >= from + 3 && data[lf - 2] === LF && data[lf - 3] === CR)) return lf + 1;
    i = lf + 1;
  }
}

/**
 * The field lines in `data[from, stop)`, each ending in CRLF, as `[name, value, …]` buffers.
 * `name ":" OWS value OWS`; no obs-fold, no whitespace before the colon, no control bytes.
 */
function fields(data: Buffer, from: number, stop: number): string[] {
  const raw: string[] = [];
  let at = from;
  while (at < stop) {
    const c0 = data[at]!;
    if (c0 === SP || c0 === HTAB) fail('HPE_INVALID_HEADER_TOKEN', 'obs-fold (a field line starting with whitespace)');
    let i = at;
    while (TOKEN[data[i]!] === 1) i++;
    if (i === at) fail('HPE_INVALID_HEADER_TOKEN', 'a field name is empty or holds a byte not allowed in a token');
    if (data[i] !== 0x3a) fail('HPE_INVALID_HEADER_TOKEN', 'a field name is not followed by a colon');
    const name = data.toString('latin1', at, i);
    i++;
    while (data[i] === SP || data[i] === HTAB) i++;
    const start = i;
    let last = i;
    for (;;) {
      const c = data[i]!;
      if (c === CR) break;
      if (FIELD[c] === 0) fail('HPE_INVALID_HEADER_TOKEN', 'a field value holds a control byte');
      i++;
      if (c !== SP && c !== HTAB) last = i;
    }
    if (data[i + 1] !== LF) fail('HPE_LF_EXPECTED', 'a CR without LF in the response head');
    raw.push(name, data.toString('latin1', start, last));
    if (raw.length > MAX_FIELDS * 2) fail('HPE_HEADER_OVERFLOW', 'too many header fields');
    at = i + 2;
  }
  return raw;
}

/** `1*DIGIT`, nothing else (no sign, no list, no spaces inside), within 2^53. */
function contentLength(value: string): number {
  const n = value.length;
  if (n === 0 || n > 15) fail('HPE_INVALID_CONTENT_LENGTH', 'Content-Length is empty or too large');
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) fail('HPE_INVALID_CONTENT_LENGTH', 'Content-Length is not a number');
    v = v * 10 + d;
  }
  return v;
}

function hasToken(list: string, token: string): boolean {
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}
