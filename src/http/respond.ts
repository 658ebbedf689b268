import { Readable, pipeline } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Exchange } from './handler.js';
import { compressStream, compressSync, isCompressible, negotiate, varyAcceptEncoding } from './compress.js';

/** Anything a handler may return as a body. */
export type Body =
  | string
  | Buffer
  | Uint8Array
  | Readable
  | AsyncIterable<unknown>
  | Record<string, unknown>
  | unknown[]
  | null
  | undefined;

/** A full response a handler can return instead of a bare body. */
export interface Reply {
  status?: number;
  headers?: OutgoingHttpHeaders;
  body?: Body;
}

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const OCTETS = 'application/octet-stream';

/** True for a value that is streamed rather than sent whole. */
export function isStreamBody(body: unknown): body is Readable | AsyncIterable<unknown> {
  return (
    body instanceof Readable ||
    (typeof body === 'object' && body !== null && !Buffer.isBuffer(body) && !(body instanceof Uint8Array) &&
      typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

/**
 * The one place that writes a response body. Handlers return values; this decides the
 * Content-Type, length, compression, HEAD and no-body statuses, and streams with backpressure.
 * A second call on a finished response is ignored, so an error after the first write can never
 * crash the worker with ERR_HTTP_HEADERS_SENT.
 */
export function respond(ex: Exchange, status: number, headers: OutgoingHttpHeaders | undefined, body: Body): void {
  const res = ex.res;
  if (res.headersSent || res.writableEnded) {
    if (body instanceof Readable) body.destroy();
    return;
  }
  if (typeof body === 'string') return sendWhole(ex, status, headers, body, Buffer.byteLength(body), HTML);
  if (body instanceof Uint8Array) return sendWhole(ex, status, headers, body, body.byteLength, OCTETS);
  res.statusCode = status;
  if (headers) for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) res.setHeader(name, value);
  }
  // RFC 9110 §6.4.1: 1xx, 204 and 304 never carry content.
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    if (body instanceof Readable) body.destroy();
    res.removeHeader('content-length');
    res.end();
    return;
  }
  if (body === undefined || body === null) {
    res.setHeader('content-length', 0);
    res.end();
    return;
  }
  if (isStreamBody(body)) return sendStream(ex, body);
  const json = JSON.stringify(body);
  sendWhole(ex, status, undefined, json, Buffer.byteLength(json), JSON_TYPE);
}

/**
 * A body known in full. Headers go to writeHead() in one object: when nothing was set before, Node
 * then writes them without storing each one, the path bare node:http takes.
 */
function sendWhole(ex: Exchange, status: number, headers: OutgoingHttpHeaders | undefined, body: string | Uint8Array, length: number, defaultType: string): void {
  const res = ex.res;
  // Object.assign, not `{ ...headers }`: V8 (Node 20) gives a spread copy that then gains a key (the
  // content-length below) a brand-new hidden class on every call, allocated in old space. Under RPC
  // load that was ~0.3 MB of old space per scavenge and frequent mark-compacts (docs/performance.md).
  const out: OutgoingHttpHeaders = headers ? Object.assign({}, headers) : {};
  if (out['content-type'] === undefined && !res.hasHeader('content-type')) out['content-type'] = defaultType;
  // The request id is not added here: the engine's writeHead writes it into the serialised head.
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    delete out['content-length'];
    res.writeHead(status, out).end();
    return;
  }
  if (ex.compressMin > 0 && length >= ex.compressMin) {
    const type = (out['content-type'] ?? res.getHeader('content-type')) as string | undefined;
    // A byte range of a representation must not be re-encoded (RFC 9110 §14.4).
    const encoded = out['content-encoding'] !== undefined || res.hasHeader('content-encoding') || out['content-range'] !== undefined || res.hasHeader('content-range');
    if (!encoded && isCompressible(type)) {
      out.vary = varyAcceptEncoding(out.vary ?? res.getHeader('vary'));
      const coding = negotiate(ex.req.headers['accept-encoding']);
      if (coding) {
        const packed = compressSync(coding, typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        out['content-encoding'] = coding;
        out['content-length'] = packed.length;
        res.writeHead(status, out).end(ex.method === 'HEAD' ? undefined : packed);
        return;
      }
    }
  }
  out['content-length'] = length;
  res.writeHead(status, out).end(ex.method === 'HEAD' ? undefined : body);
}

function sendStream(ex: Exchange, body: Readable | AsyncIterable<unknown>): void {
  const res = ex.res;
  const source = body instanceof Readable ? body : Readable.from(body, { objectMode: false });
  if (ex.method === 'HEAD') {
    source.destroy();
    res.end();
    return;
  }
  if (!res.hasHeader('content-type')) res.setHeader('content-type', OCTETS);
  const type = res.getHeader('content-type') as string | undefined;
  let coding: ReturnType<typeof negotiate>;
  if (ex.compressMin > 0 && !res.hasHeader('content-encoding') && !res.hasHeader('content-length') && isCompressible(type)) {
    res.setHeader('vary', varyAcceptEncoding(res.getHeader('vary')));
    coding = negotiate(ex.req.headers['accept-encoding']);
  }
  // pipeline destroys the source when the client goes away, so a generator's finally runs.
  const done = (err?: NodeJS.ErrnoException | null): void => {
    if (err && !res.destroyed) res.destroy(err);
  };
  if (coding) {
    res.setHeader('content-encoding', coding);
    pipeline(source, compressStream(coding), res, done);
  } else {
    pipeline(source, res, done);
  }
}
