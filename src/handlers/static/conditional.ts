import type { IncomingHttpHeaders } from 'node:http';

/** The validators of one representation of a file. */
export interface Validators {
  /** A strong entity tag, quotes included. */
  readonly etag: string;
  /** Modification time in milliseconds since the epoch. */
  readonly mtimeMs: number;
}

/**
 * A strong ETag from the file's version: mtime (ms) and size in hex, like nginx. A compressed
 * representation is a different sequence of bytes, so it gets its own tag (RFC 9110 §8.8.3):
 * sharing one strong tag between them would let If-Range splice gzip bytes into an identity body.
 */
export function makeEtag(size: number, mtimeMs: number, coding?: string): string {
  const base = `${Math.trunc(mtimeMs).toString(16)}-${size.toString(16)}`;
  return coding ? `"${base}-${coding}"` : `"${base}"`;
}

/** Last-Modified as an HTTP-date; the format has whole seconds only. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** The outcome of RFC 9110 §13.2.2 preconditions for a GET or HEAD. */
export type Precondition = 'proceed' | 'not-modified' | 'failed';

/**
 * Evaluate If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order RFC 9110
 * §13.2.2 prescribes, for a GET or HEAD of an existing file.
 */
export function evaluatePreconditions(headers: IncomingHttpHeaders, v: Validators): Precondition {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!matchesAny(ifMatch, v.etag, true)) return 'failed';
  } else {
    const since = parseDate(headers['if-unmodified-since']);
    if (since !== undefined && seconds(v.mtimeMs) > seconds(since)) return 'failed';
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    // When If-None-Match is present, If-Modified-Since is ignored (§13.1.3) even if it would say "modified".
    return matchesAny(ifNoneMatch, v.etag, false) ? 'not-modified' : 'proceed';
  }
  const since = parseDate(headers['if-modified-since']);
  if (since !== undefined && seconds(v.mtimeMs) <= seconds(since)) return 'not-modified';
  return 'proceed';
}

/**
 * Whether a Range may be honoured given If-Range (RFC 9110 §13.1.5): absent, a strongly matching
 * ETag, or a date equal to Last-Modified. A weak tag or an unparseable value never matches, and
 * the full representation is sent instead.
 */
export function ifRangeAllows(ifRange: string | string[] | undefined, v: Validators): boolean {
  if (ifRange === undefined) return true;
  // Node joins most duplicate headers but leaves unknown ones as arrays; a repeated If-Range is invalid.
  if (Array.isArray(ifRange)) return ifRange.length === 1 && ifRangeAllows(ifRange[0], v);
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return !value.startsWith('W/') && value === v.etag;
  const date = parseDate(value);
  return date !== undefined && seconds(date) === seconds(v.mtimeMs);
}

/**
 * True when a list of entity tags (or `*`) matches `etag`. Strong comparison needs both tags
 * strong and equal; weak comparison ignores the `W/` prefixes (RFC 9110 §8.8.3.2).
 */
export function matchesAny(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === '*') return true;
  const wanted = etag.startsWith('W/') ? etag.slice(2) : etag;
  if (strong && etag.startsWith('W/')) return false;
  // Quoted tags may themselves contain commas, so tags are scanned rather than split on commas.
  for (const m of list.matchAll(/(W\/)?("[^"]*")/g)) {
    if (strong && m[1]) continue;
    if (m[2] === wanted) return true;
  }
  return false;
}

/**
 * Milliseconds of an HTTP-date, or undefined when absent or invalid (then the header is ignored).
 * Old Skitai clients append `; length=N` to If-Modified-Since; the suffix is dropped.
 */
export function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const semicolon = value.indexOf(';');
  const ms = Date.parse(semicolon < 0 ? value : value.slice(0, semicolon));
  return Number.isNaN(ms) ? undefined : ms;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
