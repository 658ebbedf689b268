import type { Coding } from '../../http/compress.js';
import type { Exchange } from '../../http/handler.js';
import { preparedH2Head } from '../../http/h2fast.js';
import { H2Response } from '../../http/h2response.js';
import { headBlock, writeHeadBlock } from '../../http/rawhead.js';
import { evaluatePreconditions, httpDate, makeEtag, type Validators } from './conditional.js';
import type { CachedFile, FileCache } from './filecache.js';

/** One representation of a cached file (identity or an encoding), with its headers made once. */
export interface PreparedBody {
  readonly body: Buffer;
  readonly validators: Validators;
  /** Node's flat `[name, value, …]` list for `writeHead(200)`. */
  readonly ok: readonly string[];
  /** The same for `writeHead(304)`: the cache headers without the body's type and length. */
  readonly notModified: readonly string[];
  /** `ok` without Content-Length, serialised (writeHeadBlock). */
  readonly okBlock: string;
  /** `notModified`, serialised. */
  readonly notModifiedBlock: string;
  /** `ok` as the header object of an h2 `respond()` (H2Response#sendPrepared), Content-Length included. */
  readonly okH2: Readonly<Record<string, string>>;
  /** `notModified` as the same. */
  readonly notModifiedH2: Readonly<Record<string, string>>;
  /** `okH2` with `:status` and an `x-request-id` slot, for the engine's h2 fast path (http/handler.ts PreparedAnswer). */
  readonly h2Head: Record<string, string | number>;
  /** The body's length, for Content-Length. */
  readonly length: string;
  /** Which body this is, for the cache's latin1 copy. */
  readonly key: Coding | 'identity';
}

// Bodies up to this size leave with their head in one write: Node copies a string write of up to
// 16 KiB to its stack and writes it at once (one syscall), while a head and a Buffer are a writev
// of three chunks through the socket's cork buffer. Larger bodies are not worth a second copy.
const INLINE_MAX = 8 * 1024;

/**
 * The responses of one cached file under one request path, computed once per file version and kept
 * by the static handler's hot map: a hit then costs a map lookup and one write of a head made from
 * serialised headers (http/rawhead.ts), with no per-request header object, date formatting, ETag
 * string or header validation. The lists are shared by every response: nobody may change them
 * (`beforeHeaders` hooks replace).
 */
export class PreparedFile {
  readonly entry: CachedFile;
  readonly type: string;
  /** Of a compressible type: answers say `Vary: Accept-Encoding`. */
  readonly compressible: boolean;
  /** May be compressed on the fly (a small-cache entry of a compressible type; never a hot large file). */
  readonly compress: boolean;
  readonly identity: PreparedBody;
  readonly #cacheControl: string;
  readonly #lastModified: string;
  readonly #encoded: Partial<Record<Coding, PreparedBody>> = {};

  constructor(entry: CachedFile, type: string, cacheControl: string, compressible: boolean, compress = compressible) {
    this.entry = entry;
    this.type = type;
    this.compressible = compressible;
    this.compress = compressible && compress;
    this.#cacheControl = cacheControl;
    this.#lastModified = httpDate(entry.mtimeMs);
    this.identity = this.#prepare(entry.data, undefined);
  }

  /** The representation in `coding`; its bytes are the cache's variant, made the first time. */
  encoded(coding: Coding, files: FileCache, real: string): PreparedBody {
    return (this.#encoded[coding] ??= this.#prepare(files.variant(real, this.entry, coding), coding));
  }

  #prepare(body: Buffer, coding: Coding | undefined): PreparedBody {
    const etag = makeEtag(this.entry.size, this.entry.mtimeMs, coding);
    // The order and values the general path (StaticHandler#send + respond()) writes.
    const common = ['cache-control', this.#cacheControl, 'etag', etag, 'last-modified', this.#lastModified, 'accept-ranges', 'bytes'];
    if (this.compressible) common.push('vary', 'Accept-Encoding');
    const ok = [...common, 'content-type', this.type];
    if (coding) ok.push('content-encoding', coding);
    const okBlock = headBlock(ok);
    const length = String(body.length);
    ok.push('content-length', length);
    return {
      body, validators: { etag, mtimeMs: this.entry.mtimeMs }, ok, notModified: common,
      okBlock, notModifiedBlock: headBlock(common), length, key: coding ?? 'identity',
      okH2: h2Headers(ok), notModifiedH2: h2Headers(common), h2Head: h2Head(ok),
    };
  }
}

/** A flat list (checked by headBlock) as an h2 header object: names in lower case, as h2 sends them. */
function h2Headers(list: readonly string[]): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!.toLowerCase()] = list[i + 1]!;
  return Object.freeze(out);
}

/**
 * The whole header object of a 200, in the order H2Response#sendPrepared gives it to `respond()`:
 * `:status`, the file's headers, `x-request-id` (filled per request; node copies the object).
 */
function h2Head(list: readonly string[]): Record<string, string | number> {
  return preparedH2Head(h2Headers(list));
}

/**
 * Answer a GET or HEAD without Range from a prepared file (held in `files` under `real`): 200 in
 * `coding` or identity, or 304, from the prepared block (or, when the response already carries
 * headers or a hook, through `writeHead()` with the prepared list). Returns false with the response
 * untouched when the general path must answer (a failed If-Match / If-Unmodified-Since: 412).
 */
export function sendPrepared(ex: Exchange, file: PreparedFile, coding: Coding | undefined, files: FileCache, real: string): boolean {
  const headers = ex.req.headers;
  const body = coding ? file.encoded(coding, files, real) : file.identity;
  const inm = headers['if-none-match'];
  // The revalidation browsers send: the one tag we gave them, and no If-Match / If-Unmodified-Since,
  // which RFC 9110 §13.2.2 evaluates first. Equal to evaluatePreconditions' answer, without its scan.
  if (inm === body.validators.etag && headers['if-match'] === undefined && headers['if-unmodified-since'] === undefined) {
    notModified(ex, body);
    return true;
  }
  if (inm !== undefined || headers['if-modified-since'] !== undefined ||
      headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined) {
    const precondition = evaluatePreconditions(headers, body.validators);
    if (precondition === 'failed') return false;
    if (precondition === 'not-modified') {
      notModified(ex, body);
      return true;
    }
  }
  const res = ex.res;
  // h2 without the compatibility API: the prepared header object goes to respond() as it is.
  if (res instanceof H2Response && res.sendPrepared(200, body.okH2, ex.method === 'HEAD' ? undefined : body.body)) return true;
  if (ex.method === 'HEAD') {
    if (!writeHeadBlock(res, 200, body.okBlock, body.length, '')) res.writeHead(200, body.ok as string[]);
    res.end();
  } else if (body.body.length <= INLINE_MAX) {
    const text = files.text(real, file.entry, body.key, body.body);
    if (text !== undefined && writeHeadBlock(res, 200, body.okBlock, body.length, text)) res.end();
    else if (writeHeadBlock(res, 200, body.okBlock, body.length, '')) res.end(body.body);
    else res.writeHead(200, body.ok as string[]).end(body.body);
  } else if (writeHeadBlock(res, 200, body.okBlock, body.length, '')) {
    res.end(body.body);
  } else {
    res.writeHead(200, body.ok as string[]).end(body.body);
  }
  return true;
}

function notModified(ex: Exchange, body: PreparedBody): void {
  if (ex.res instanceof H2Response && ex.res.sendPrepared(304, body.notModifiedH2, undefined)) return;
  if (!writeHeadBlock(ex.res, 304, body.notModifiedBlock, undefined, '')) ex.res.writeHead(304, body.notModified as string[]);
  ex.res.end();
}
