import crypto from 'node:crypto';

/**
 * Request ids and W3C trace context (https://www.w3.org/TR/trace-context/).
 *
 * A request id is `<prefix>-<counter>`: the prefix is 10 base-36 characters drawn at random once
 * per process, the counter counts up in base 36. That makes ids unique per worker and start, and
 * costs one string concatenation per request instead of a random UUID.
 */

/** The generated ids' common start, `3kf9a0x2qz-`. */
export const REQUEST_ID_PREFIX = `${crypto.randomBytes(6).readUIntBE(0, 6).toString(36).padStart(10, '0')}-`;
let counter = 0;

/** A new request id, unique per worker and start: `3kf9a0x2qz-1a`. */
export function nextRequestId(): string {
  return requestIdOf(nextRequestSeq());
}

/**
 * The counter of the next generated id, whose id is {@link requestIdOf}(seq). The engine keeps the
 * number too: the access line writes the id from it, without reading the id's characters (the id is
 * a concatenation, which the first read of a character flattens into a copy: ~0.2 µs per request).
 */
export function nextRequestSeq(): number {
  return ++counter;
}

/** The generated id of counter `seq`. */
export function requestIdOf(seq: number): string {
  return REQUEST_ID_PREFIX + seq.toString(36);
}

/**
 * An id a trusted proxy sent is kept only when it is 1..128 characters of `A-Z a-z 0-9 . _ : = + / -`:
 * such an id can go into a log line, a header and an SQL comment (no `*`, so no `*\/`) as it is.
 */
const VALID_ID = /^[\w.:=+/-]{1,128}$/;

/** True when `id` may be kept as the request id. */
export function isValidRequestId(id: string): boolean {
  return VALID_ID.test(id);
}

/** What an outgoing call (was.lb, the reverse proxy, an SQL statement) carries of the request that made it. */
export interface RequestContext {
  /** The request id, sent as `X-Request-Id`. */
  readonly id: string;
  /** A `traceparent` for one outgoing hop: the request's trace id, a new span id. */
  traceparent(): string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The trace a request belongs to, as `<trace-id>-<flags>` for building `traceparent` headers: the
 * incoming header's trace id and flags when it is valid (version ff and all-zero ids are not), else
 * a new random trace id, sampled flag off (`00`), made only when an outgoing call needs it.
 */
export function traceOf(header: string | string[] | undefined): string {
  return incomingTrace(header) ?? `${randomHex(16)}-00`;
}

/** The incoming header's trace as `<trace-id>-<flags>`, or undefined when there is none or it is not valid. */
export function incomingTrace(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  // A version-00 header must be exactly 55 characters; later versions may append fields.
  if (m && m[1] !== 'ff' && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN && (m[1] !== '00' || value.trim().length === 55)) {
    return `${m[2]}-${m[4]}`;
  }
  return undefined;
}

/** `00-<trace-id>-<new span id>-<flags>` for a trace from {@link traceOf}. */
export function childTraceparent(trace: string): string {
  return `00-${trace.slice(0, 32)}-${randomHex(8)}-${trace.slice(33)}`;
}

// Random bytes are drawn 4 KiB at a time and turned into hex once: one getrandom() call and one
// conversion serve hundreds of span ids, each then a slice of that string (a proxied request took
// two Buffer-to-hex conversions before).
const POOL = Buffer.allocUnsafe(4096);
let hex = '';
let used = 0;

function randomHex(bytes: number): string {
  const chars = bytes * 2;
  if (used + chars > hex.length) {
    crypto.randomFillSync(POOL);
    hex = POOL.toString('hex');
    used = 0;
  }
  const out = hex.slice(used, used + chars);
  used += chars;
  return out;
}
