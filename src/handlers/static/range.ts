/** The answer to a Range header for a representation of `size` bytes. */
export type RangeRequest =
  /** No Range, or one Skitai ignores (bad syntax, several ranges, other units): send it all. */
  | { readonly kind: 'full' }
  /** One satisfiable range; `end` is inclusive. */
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  /** A valid range that selects nothing: 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeRequest = { kind: 'full' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };

/**
 * Parse a Range header (RFC 9110 §14.1.2) for a single byte range: `bytes=a-b`, `bytes=a-`,
 * `bytes=-n`. Several ranges are answered with the whole file, which the RFC allows (§14.2) and
 * which avoids multipart/byteranges, a format few clients still ask for and that is a known
 * amplification vector (many overlapping ranges). Invalid syntax is ignored, also per §14.2.
 * An empty file has no satisfiable byte range, so it is sent whole rather than refused.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return FULL;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return FULL;
  const [, first = '', last = ''] = m;
  // Positions beyond 2^53 lose precision as numbers, but they are only compared with a real file
  // size, so an absurd value still lands on the right answer (unsatisfiable, or clamped to the end).
  if (size === 0) return FULL;
  if (first === '') {
    // Suffix range: the last n bytes, or the whole file when it is shorter than n.
    if (last === '') return FULL;
    const n = Number(last);
    if (n === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  let end = size - 1;
  if (last !== '') {
    const requested = Number(last);
    if (requested < start) return FULL;
    end = Math.min(requested, size - 1);
  }
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'partial', start, end };
}
