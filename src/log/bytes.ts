/**
 * Text written straight into a byte buffer, for the JSON access line: each function writes at `at`
 * and returns where it stopped. The common case (short ASCII strings, small integers) is a loop of
 * byte stores in JS; anything else goes through the same conversion a template string would use, so
 * the bytes are the same either way. Callers make sure there is room (see {@link jsonRoom}).
 */

/** What JSON must escape: quotes, backslashes, control characters, lone surrogates (JSON.stringify writes them as `\u` escapes). */
const ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A constant's UTF-8 bytes, also as little-endian 32-bit words: {@link put} stores a short one four
 * bytes at a time through a DataView, and copies a longer one with `set()`, whose cost hardly grows
 * with the length (Node 22: 11 ns for 6 to 90 bytes; the word loop 10 ns for 6 bytes, 23 for 22, 55 for 90).
 */
export class Bytes {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  /** `text` as UTF-8, or a copy of `bytes`. */
  constructor(text: string | Uint8Array) {
    this.bytes = new Uint8Array(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
    const b = this.bytes;
    this.words = new Int32Array(b.length >> 2);
    for (let i = 0; i < this.words.length; i++) this.words[i] = b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24);
  }
}

/** The longest constant {@link put} stores word by word. */
const SHORT = 8;

/** Copies a constant to `at` of the buffer `view` is over. */
export function put(view: DataView, buf: Uint8Array, at: number, c: Bytes): number {
  const b = c.bytes;
  if (b.length > SHORT) {
    buf.set(b, at);
    return at + b.length;
  }
  const w = c.words;
  const n = w.length;
  for (let i = 0; i < n; i++) view.setInt32(at + 4 * i, w[i]!, true);
  for (let k = 4 * n; k < b.length; k++) buf[at + k] = b[k]!;
  return at + b.length;
}

/**
 * `s` as it is, UTF-8. The loop takes printable ASCII; a string with anything else (which the
 * engine's ids, addresses and methods never have) is encoded by `Buffer#write`.
 */
export function raw(buf: Buffer, at: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return at + buf.write(s, at);
    buf[at + i] = c;
  }
  return at + n;
}

/** `s` as a JSON string: between quotes, escaped only when it has to be, exactly as `JSON.stringify` would. */
export function jsonString(buf: Buffer, at: number, s: string): number {
  const n = s.length;
  buf[at] = 34;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return at + buf.write(ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`, at);
    buf[at + 1 + i] = c;
  }
  buf[at + 1 + n] = 34;
  return at + n + 2;
}

/** Digits of `n` as `${n}` writes them. Small non-negative integers by hand, anything else through `String()`. */
export function num(buf: Buffer, at: number, n: number): number {
  if (!(n >= 0 && n <= 0x7fffffff) || (n | 0) !== n) return at + buf.write(String(n), at, 'latin1');
  let end = at + 1;
  for (let p = 10; p <= n; p *= 10) end++;
  for (let i = end - 1, v = n; i >= at; i--, v = (v / 10) | 0) buf[i] = 48 + (v % 10);
  return end;
}

/** Base-36 digit pairs of 0…1295 as byte codes, high digit first: `n` at `2 * n` and `2 * n + 1`. */
const PAIRS36 = new Uint8Array(2 * 1296);
for (let n = 0; n < 1296; n++) {
  const digit = (d: number): number => (d < 10 ? 48 + d : 87 + d);
  PAIRS36[2 * n] = digit((n / 36) | 0);
  PAIRS36[2 * n + 1] = digit(n % 36);
}

/** Digits of `n` as `n.toString(36)` writes them (a generated request id's counter), two per division. */
export function base36(buf: Buffer, at: number, n: number): number {
  if (!(n >= 0 && n <= 0x7fffffff) || (n | 0) !== n) return at + buf.write(n.toString(36), at, 'latin1');
  let end = at + 1;
  for (let p = 36; p <= n; p *= 36) end++;
  let i = end;
  let v = n;
  while (i - at >= 2) {
    const q = (v / 1296) | 0;
    const r = 2 * (v - q * 1296);
    buf[--i] = PAIRS36[r + 1]!;
    buf[--i] = PAIRS36[r]!;
    v = q;
  }
  if (i > at) buf[at] = PAIRS36[2 * v + 1]!;
  return end;
}

/** Exactly three digits, `007` for 7 (the milliseconds of a second). */
export function digits3(buf: Uint8Array, at: number, n: number): number {
  buf[at] = 48 + ((n / 100) | 0);
  buf[at + 1] = 48 + (((n / 10) | 0) % 10);
  buf[at + 2] = 48 + (n % 10);
  return at + 3;
}

/** `.412`, `.41`, `.4` or nothing for 412, 410, 400, 0 thousandths: as one little-endian word (padded), and its length. */
const FRACTION = new Int32Array(1000);
const FRACTION_LEN = new Uint8Array(1000);
for (let f = 1; f < 1000; f++) {
  const s = `.${String(f).padStart(3, '0')}`.replace(/0+$/, '');
  for (let i = 0; i < s.length; i++) FRACTION[f]! |= s.charCodeAt(i) << (8 * i);
  FRACTION_LEN[f] = s.length;
}

/**
 * `Math.round(ms * 1000) / 1000` as `${}` writes it: `0.412`, `1.5`, `2`. For a whole number of
 * microseconds below 2^31 the decimal with at most three decimals is the shortest that round-trips,
 * which is what JavaScript prints; anything else goes through `String()`. The decimals are one
 * word store from a table (four bytes are written whatever their length: the caller's room covers them).
 */
export function millis(view: DataView, buf: Buffer, at: number, ms: number): number {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us <= 0x7fffffff)) return at + buf.write(String(us / 1000), at, 'latin1');
  const whole = (us / 1000) | 0;
  const frac = us - whole * 1000;
  if (whole < 10) buf[at++] = 48 + whole;
  else at = num(buf, at, whole);
  view.setInt32(at, FRACTION[frac]!, true);
  return at + FRACTION_LEN[frac]!;
}

/** The most bytes {@link raw} writes for `s` (UTF-8: 3 per UTF-16 unit). */
export const rawRoom = (s: string | undefined): number => (s === undefined ? 0 : 3 * s.length);
/** The most bytes {@link jsonString} writes for `s` (a `\u00XX` escape is 6 bytes for one unit), quotes included. */
export const jsonRoom = (s: string | undefined): number => (s === undefined ? 0 : 6 * s.length + 2);
/** The most bytes {@link num} or {@link millis} write: `String()` of any number is shorter. */
export const NUM_ROOM = 25;
