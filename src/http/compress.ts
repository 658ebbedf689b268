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
  if (!acceptEncoding) return undefined;
  let gzip = false;
  let br = false;
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName!.trim().toLowerCase();
    const refused = params.some((p) => /^\s*q\s*=\s*0(?:\.0*)?\s*$/.test(p));
    if (refused) continue;
    if (name === 'br') br = true;
    else if (name === 'gzip' || name === 'x-gzip') gzip = true;
    else if (name === '*') { br = true; gzip = true; }
  }
  return br ? 'br' : gzip ? 'gzip' : undefined;
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
