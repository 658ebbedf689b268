import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/** A content coding Skitai produces. */
export type Coding = 'br' | 'gzip';

// Text-like types only: images, video and archives are compressed already.
const COMPRESSIBLE = /^(?:text\/|application\/(?:json|javascript|xml|xhtml\+xml|rss\+xml|atom\+xml|json-rpc|ld\+json|manifest\+json|wasm)|image\/svg\+xml|[^;]*\+(?:json|xml)\b)/i;

/** True when a body of this Content-Type is worth compressing. */
export function isCompressible(contentType: string | undefined): boolean {
  return contentType !== undefined && COMPRESSIBLE.test(contentType);
}

/**
 * Pick the coding from an Accept-Encoding header: brotli when offered, then gzip; `q=0` refuses a
 * coding (RFC 9110 §12.5.3). Returns undefined for identity.
 */
export function negotiate(acceptEncoding: string | undefined): Coding | undefined {
  const codings = acceptedCodings(acceptEncoding);
  return codings.length ? codings[0] : undefined;
}

const NONE: readonly Coding[] = [];
const BOTH: readonly Coding[] = ['br', 'gzip'];
const BR: readonly Coding[] = ['br'];
const GZIP: readonly Coding[] = ['gzip'];

/** Every coding of ours an Accept-Encoding header accepts, most preferred first (brotli, then gzip). */
export function acceptedCodings(acceptEncoding: string | undefined): readonly Coding[] {
  if (!acceptEncoding) return NONE;
  // undefined: not named; a coding named explicitly is not affected by `*` (RFC 9110 §12.5.3).
  let gzip: boolean | undefined;
  let br: boolean | undefined;
  let any = false;
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName!.trim().toLowerCase();
    const ok = !params.some((p) => /^\s*q\s*=\s*0(?:\.0*)?\s*$/.test(p));
    if (name === 'br') br = ok || br === true;
    else if (name === 'gzip' || name === 'x-gzip') gzip = ok || gzip === true;
    else if (name === '*') any = ok;
  }
  br ??= any;
  gzip ??= any;
  return br ? (gzip ? BOTH : BR) : gzip ? GZIP : NONE;
}

// Quality 5 keeps brotli close to gzip's speed for dynamic bodies; static files can afford more.
const BROTLI_DYNAMIC = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } };
const BROTLI_STATIC = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } };

/** Compress a whole buffer. `forStorage` spends more CPU for a smaller result (cached static files). */
export function compressSync(coding: Coding, data: Buffer, forStorage = false): Buffer {
  return coding === 'br'
    ? zlib.brotliCompressSync(data, forStorage ? BROTLI_STATIC : BROTLI_DYNAMIC)
    : zlib.gzipSync(data, { level: forStorage ? 9 : 6 });
}

/** A streaming compressor for bodies of unknown length. */
export function compressStream(coding: Coding): Transform {
  return coding === 'br' ? zlib.createBrotliCompress(BROTLI_DYNAMIC) : zlib.createGzip();
}

/** Add `Accept-Encoding` to a Vary header value without duplicating it. */
export function varyAcceptEncoding(current: string | number | string[] | undefined): string {
  const text = Array.isArray(current) ? current.join(', ') : current === undefined ? '' : String(current);
  if (/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(text)) return text;
  return text ? `${text}, Accept-Encoding` : 'Accept-Encoding';
}
