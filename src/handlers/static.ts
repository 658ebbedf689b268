import { constants as fsc, promises as fsp, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { ERRORS } from '../errors.js';
import { acceptedCodings, isCompressible, negotiate, type Coding } from '../http/compress.js';
import { sendError } from '../http/errorpage.js';
import type { Exchange, Handler, PreparedAnswer } from '../http/handler.js';
import { respond } from '../http/respond.js';
import { evaluatePreconditions, httpDate, ifRangeAllows, makeEtag } from './static/conditional.js';
import { FileCache, type CachedFile } from './static/filecache.js';
import { HotFiles } from './static/hotfiles.js';
import { contentType } from './static/mime.js';
import { HotPaths } from './static/hotpaths.js';
import { PreparedFile, sendPrepared } from './static/prepared.js';
import { OpenFiles, type OpenFile } from './static/openfiles.js';
import { pumpFile } from './static/pump.js';
import { SUFFIX, storedEncodings } from './static/stored.js';
import { parseRange, type RangeRequest } from './static/range.js';
import { decodePath, resolveUnder, type DecodedPath } from './static/safepath.js';
import { StatCache, errorKind, type Lookup } from './static/statcache.js';

/** Options of a {@link StaticHandler}; `[server] static_*` in the config. */
export interface StaticOptions {
  /** `Cache-Control: max-age`, in seconds. */
  maxAge: number;
  /** Files up to this many bytes are kept in memory (and compressed once). Default 64 KiB. */
  cacheFileMax?: number;
  /** Memory for cached files, compressed variants included. Default 32 MiB; 0 turns caching off. */
  cacheSize?: number;
  /**
   * Memory for whole copies of larger files downloaded repeatedly (static/hotfiles.ts), each up to
   * a quarter of it. Default 64 MiB; 0 turns it off.
   */
  hotCacheSize?: number;
  /** Serve `file.br` / `file.gz` beside `file` to clients that accept the coding (nginx `gzip_static`). Default true. */
  precompressed?: boolean;
  /** Told about unexpected file-system errors (answered with 500), e.g. the server log. */
  onError?: (message: string, err: unknown) => void;
}

type FileLookup = Extract<Lookup, { kind: 'file' }>;

/**
 * Where the bytes of a response come from: a cached copy (in the small-file cache, or a hot large
 * file's, which is never compressed), or an open file to stream.
 */
type Source =
  | { readonly kind: 'memory'; readonly real: string; readonly entry: CachedFile; readonly cache: FileCache }
  | { readonly kind: 'disk'; readonly file: OpenFile; readonly stat: Stats };

const INDEX_FILES = ['index.html', 'index.htm'];
const FULL: RangeRequest = { kind: 'full' };
// O_NONBLOCK: if a FIFO replaced the file after it was stat'ed, open() must not hang a libuv thread.
const OPEN_FLAGS = fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0);

const MISS_TTL_MS = 1000;
const MAX_MISSES = 4096;

/**
 * Serves files under a directory the way nginx does: GET and HEAD only, safe path decoding,
 * directory redirects and index files, validators and conditional requests, single byte ranges,
 * and compression of small text files from an in-memory cache. A path that names no file is
 * declined so that an app mounted on the same prefix can answer it.
 *
 * Decisions: hidden files (`.name`) are served, as nginx does — keep secrets out of the web root.
 * A symlink whose target lies outside the root is declined like a missing file (404 from the
 * engine), so nothing tells whether the target exists. Files larger than the memory-cache limit
 * are streamed uncompressed, so they keep Content-Length and byte ranges. A stored `file.br` /
 * `file.gz` beside a file is sent to clients accepting it, with ranges of its own bytes
 * (docs/static.md).
 */
export class StaticHandler implements Handler {
  readonly name: string;
  /** Absolute path of the web root. */
  readonly root: string;
  readonly #cacheControl: string;
  /** Largest file kept in memory; -1 when the cache is off. */
  readonly #memoryMax: number;
  readonly #stats: StatCache;
  /** Request paths (as sent) known to name no file, until a time: the hot path of a shared mount. */
  readonly #misses = new Map<string, number>();
  readonly #files: FileCache;
  readonly #hotFiles: HotFiles;
  readonly #descriptors = new OpenFiles();
  readonly #loading = new Map<string, Promise<CachedFile | undefined>>();
  /** Request paths (as sent) of cached files, answered synchronously with prepared headers. */
  readonly #hot: HotPaths;
  #lastAccept: string | undefined;
  #lastCoding: Coding | undefined;
  readonly #onError: ((message: string, err: unknown) => void) | undefined;
  readonly #precompressed: boolean;

  constructor(root: string, options: StaticOptions) {
    this.root = resolve(root);
    this.name = `static:${this.root}`;
    // No `public`: it only widens caching to responses of requests carrying Authorization.
    this.#cacheControl = `max-age=${Math.max(0, Math.floor(options.maxAge))}`;
    const cacheSize = options.cacheSize ?? 32 * 1024 * 1024;
    this.#memoryMax = cacheSize > 0 ? Math.min(options.cacheFileMax ?? 64 * 1024, cacheSize) : -1;
    this.#stats = new StatCache(this.root);
    this.#hot = new HotPaths(async (abs) => ({ found: await this.#stats.restat(abs), at: this.#stats.checkedAt(abs) ?? 0 }));
    // A hot-path entry holds its file: the cache's budget bounds memory only if dropped files leave it too.
    this.#files = new FileCache(cacheSize, (real) => this.#hot.forget(real, this.#files));
    this.#hotFiles = new HotFiles(options.hotCacheSize ?? 64 * 1024 * 1024, (real) => this.#hot.forget(real, this.#hotFiles.files));
    this.#onError = options.onError;
    this.#precompressed = options.precompressed ?? true;
  }

  /** Take GET and HEAD of an existing file (or directory redirect); decline everything else. */
  handle(ex: Exchange, prefix: string, rest: string): boolean | Promise<boolean> {
    if (ex.method !== 'GET' && ex.method !== 'HEAD') return false;
    const hot = ex.req.headers.range === undefined ? this.#hot.fresh(rest) : undefined;
    if (hot !== undefined && sendPrepared(ex, hot.file, this.#coding(hot.file, ex.req.headers['accept-encoding'], ex.compressMin), hot.cache, hot.real)) return true;
    // A remembered miss declines synchronously and before any decoding: an app sharing this mount
    // then costs one map lookup per request, not a path resolution and a promise.
    const missUntil = this.#misses.get(rest);
    if (missUntil !== undefined && missUntil > Date.now()) return false;
    const decoded = decodePath(rest);
    const abs = decoded.ok ? resolveUnder(this.root, decoded.path) : undefined;
    if (abs !== undefined && this.#stats.peek(abs)?.kind === 'missing') {
      this.#rememberMiss(rest);
      return false;
    }
    return this.#handle(ex, prefix, rest, decoded, abs);
  }

  #rememberMiss(rest: string): void {
    // Bounded like the stat cache; a full map is simply started again.
    if (this.#misses.size >= MAX_MISSES) this.#misses.clear();
    this.#misses.set(rest, Date.now() + MISS_TTL_MS);
  }

  /**
   * The h2 fast path's question (http/h2fast.ts): the 200 that {@link handle} would send from its hot
   * path for `rest`, when the engine has ruled out a Range and conditionals.
   */
  prepared(rest: string, accept: string | undefined, compressMin: number): PreparedAnswer | undefined {
    const hot = this.#hot.fresh(rest);
    if (hot === undefined) return undefined;
    const coding = this.#coding(hot.file, accept, compressMin);
    return coding ? hot.file.encoded(coding, hot.cache, hot.real) : hot.file.identity;
  }

  /** The coding to compress a prepared file with for a request accepting `accept`, if any. */
  #coding(file: PreparedFile, accept: string | undefined, compressMin: number): Coding | undefined {
    if (!file.compress || compressMin <= 0 || file.entry.data.length < compressMin) return undefined;
    // Clients send the same Accept-Encoding on every request: negotiate once per distinct value.
    if (accept !== this.#lastAccept) {
      this.#lastCoding = negotiate(accept);
      this.#lastAccept = accept;
    }
    return this.#lastCoding;
  }

  /** Drop the caches. */
  async close(): Promise<void> {
    this.#hot.clear();
    this.#descriptors.clear();
    this.#misses.clear();
    this.#stats.clear();
    this.#files.clear();
    this.#hotFiles.clear();
  }

  async #handle(ex: Exchange, prefix: string, rest: string, decoded: DecodedPath, abs: string | undefined): Promise<boolean> {
    if (!decoded.ok || abs === undefined) {
      sendError(ex, ERRORS.SKT_PATH_FORBIDDEN.status, { detail: decoded.ok ? ERRORS.SKT_PATH_FORBIDDEN.text : decoded.reason });
      return true;
    }
    try {
      let path = abs;
      let found = await this.#stats.lookup(abs);
      if (found.kind === 'dir') {
        if (!decoded.slash) {
          this.#redirect(ex, prefix, rest);
          return true;
        }
        [path, found] = await this.#index(abs);
      } else if (found.kind === 'file' && decoded.slash) {
        // `/style.css/` names a directory that does not exist (nginx: 404).
        return false;
      }
      if (found.kind === 'denied') {
        sendError(ex, ERRORS.SKT_STATIC_FORBIDDEN.status, { detail: ERRORS.SKT_STATIC_FORBIDDEN.text });
        return true;
      }
      if (found.kind !== 'file') {
        if (found.kind === 'missing') this.#rememberMiss(rest);
        return false;
      }
      // Typed by the name asked for, as nginx does, not by where a symlink leads.
      const type = contentType(path);
      let source: Source | undefined;
      let encoded: Coding | undefined;
      const stored = this.#precompressed ? await storedEncodings(this.#stats, path, found.stat) : undefined;
      if (stored) {
        for (const coding of acceptedCodings(ex.req.headers['accept-encoding'])) {
          const variant = stored[coding];
          source = variant && (await this.#open(path + SUFFIX[coding], variant));
          if (source) {
            encoded = coding;
            break;
          }
        }
      }
      source ??= await this.#open(path, found);
      if (!source) return false;
      // A file with stored encodings answers by Accept-Encoding, which the hot path does not look at.
      if (!stored && source.kind === 'memory' && source.cache.touch(source.real, source.entry)) {
        // Fresh as the stat that led here: the hot entry expires when that stat would.
        const file = new PreparedFile(source.entry, type, this.#cacheControl, isCompressible(type), source.cache === this.#files);
        this.#hot.remember(rest, { at: this.#stats.checkedAt(path) ?? Date.now(), abs: path, real: source.real, file, cache: source.cache });
      }
      this.#send(ex, source, type, encoded, stored !== undefined);
      return true;
    } catch (err) {
      return this.#fail(ex, err);
    }
  }

  /** `index.html`, then `index.htm`, in a directory. */
  async #index(dir: string): Promise<[string, Lookup]> {
    for (const name of INDEX_FILES) {
      const path = join(dir, name);
      const found = await this.#stats.lookup(path);
      if (found.kind === 'file' || found.kind === 'denied') return [path, found];
    }
    return [dir, { kind: 'missing' }];
  }

  #redirect(ex: Exchange, prefix: string, rest: string): void {
    // Collapse leading slashes: `//host/` in Location would send the client to another site.
    const location = `${prefix}${rest}/`.replace(/^\/{2,}/, '/') + (ex.query ? `?${ex.query}` : '');
    respond(ex, 301, { location, 'cache-control': this.#cacheControl }, null);
  }

  /** The cached copy of a small file (read now when missing or stale), or an open handle to stream. */
  async #open(path: string, file: FileLookup): Promise<Source | undefined> {
    if (file.stat.size <= this.#memoryMax) {
      const entry = this.#files.get(file.real, file.stat) ?? (await this.#read(path, file.real));
      if (entry) return { kind: 'memory', real: file.real, entry, cache: this.#files };
    }
    const copy = this.#hotFiles.get(file.real, file.stat);
    if (copy) return { kind: 'memory', real: file.real, entry: copy, cache: this.#hotFiles.files };
    try {
      // Headers must describe the bytes this descriptor will read, not what the stat cache remembers.
      const open = await this.#descriptors.open(file.real, OPEN_FLAGS);
      if (open) this.#hotFiles.consider(file.real, open);
      return open && { kind: 'disk', file: open, stat: open.stat };
    } catch (err) {
      if (errorKind(err) === 'absent') return undefined; // removed since it was stat'ed
      throw err;
    }
  }

  /** Read a small file into the cache; concurrent misses for one file share one read. */
  #read(path: string, real: string): Promise<CachedFile | undefined> {
    let pending = this.#loading.get(real);
    if (!pending) {
      pending = this.#readOnce(path, real).finally(() => this.#loading.delete(real));
      this.#loading.set(real, pending);
    }
    return pending;
  }

  async #readOnce(path: string, real: string): Promise<CachedFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await fsp.open(real, OPEN_FLAGS);
    } catch (err) {
      if (errorKind(err) === 'absent') return undefined;
      throw err;
    }
    try {
      const stat = await handle.stat();
      // Grown past the limit (or no longer a file): the caller streams it instead.
      if (!stat.isFile() || stat.size > this.#memoryMax) return undefined;
      const data = await handle.readFile();
      // The fresh stat replaces the one that sent us here, or the next request would re-read.
      this.#stats.remember(path, { kind: 'file', real, stat });
      return this.#files.put(real, data, stat);
    } finally {
      await handle.close();
    }
  }

  /**
   * Answer with `source`: its bytes are the file, or, with `encoded`, a stored encoding of it (then
   * validators and byte ranges are those of the encoded bytes, as nginx's `gzip_static` does).
   * `vary`: the answer depends on Accept-Encoding even if this type is never compressed on the fly.
   */
  #send(ex: Exchange, source: Source, type: string, encoded?: Coding, vary = false): void {
    const memory = source.kind === 'memory';
    const size = memory ? source.entry.size : source.stat.size;
    const mtimeMs = memory ? source.entry.mtimeMs : source.stat.mtimeMs;
    const length = memory ? source.entry.data.length : source.stat.size;
    const identity = { etag: makeEtag(size, mtimeMs, encoded), mtimeMs };
    const headers = ex.req.headers;

    // Byte ranges are defined for GET only (RFC 9110 §14.2); HEAD describes the whole file.
    let range = FULL;
    if (ex.method === 'GET' && headers.range !== undefined && ifRangeAllows(headers['if-range'], identity)) {
      range = parseRange(headers.range, length);
    }
    const compressible = isCompressible(type);
    let coding: Coding | undefined;
    if (memory && source.cache === this.#files && !encoded && range.kind === 'full' && compressible && ex.compressMin > 0 && length >= ex.compressMin) {
      coding = negotiate(headers['accept-encoding']);
    }
    const selected = coding ? { etag: makeEtag(size, mtimeMs, coding), mtimeMs } : identity;

    // The same cache headers on every outcome: 200, 206, 304, HEAD, compressed or not.
    const out: OutgoingHttpHeaders = {
      'cache-control': this.#cacheControl,
      etag: selected.etag,
      'last-modified': httpDate(mtimeMs),
      'accept-ranges': 'bytes',
    };
    // Whether or not this response is compressed, another client's may be: caches must key on it.
    if (compressible || vary) out.vary = 'Accept-Encoding';

    const precondition = evaluatePreconditions(headers, selected);
    if (precondition !== 'proceed' || range.kind === 'unsatisfiable') {
      if (source.kind === 'disk') source.file.release();
      if (precondition === 'not-modified') respond(ex, 304, out, null);
      else if (precondition === 'failed') {
        sendError(ex, ERRORS.SKT_PRECONDITION_FAILED.status, { detail: ERRORS.SKT_PRECONDITION_FAILED.text });
      } else {
        sendError(ex, ERRORS.SKT_RANGE_NOT_SATISFIABLE.status, {
          detail: ERRORS.SKT_RANGE_NOT_SATISFIABLE.text,
          headers: { 'content-range': `bytes */${length}`, 'accept-ranges': 'bytes' },
        });
      }
      return;
    }
    out['content-type'] = type;
    if (encoded) out['content-encoding'] = encoded;

    if (range.kind === 'partial') {
      const { start, end } = range;
      out['content-range'] = `bytes ${start}-${end}/${length}`;
      // respond() leaves a preset length alone for streams and never compresses them then.
      out['content-length'] = end - start + 1;
      if (!memory) return this.#sendDisk(ex, 206, out, source.file, start, end);
      // A stream rather than a Buffer, so respond() cannot compress a byte range.
      respond(ex, 206, out, Readable.from([source.entry.data.subarray(start, end + 1)], { objectMode: false }));
      return;
    }
    if (memory && source.cache === this.#files) {
      if (coding) out['content-encoding'] = coding;
      // A Buffer: respond() sets Content-Length and omits the body for HEAD.
      return respond(ex, 200, out, coding ? this.#files.variant(source.real, source.entry, coding) : source.entry.data);
    }
    out['content-length'] = length;
    // A hot large file goes as it streamed, uncompressed: not through respond(), which would compress text.
    if (memory) ex.res.writeHead(200, out).end(ex.method === 'HEAD' ? undefined : source.entry.data);
    else this.#sendDisk(ex, 200, out, source.file, 0, length - 1);
  }

  /**
   * A file streamed from disk: its head, then its bytes (none for HEAD). Not through respond():
   * the length is known and the body is never compressed, so all respond() would add is two
   * streams between the file and the socket.
   */
  #sendDisk(ex: Exchange, status: number, out: OutgoingHttpHeaders, file: OpenFile, start: number, end: number): void {
    const res = ex.res;
    if (res.headersSent || res.writableEnded || ex.method === 'HEAD' || end < start) {
      file.release();
      if (!res.headersSent && !res.writableEnded) res.writeHead(status, out).end();
      return;
    }
    res.writeHead(status, out);
    pumpFile(res, file, start, end, () => file.release());
  }

  /** Map a file-system failure to a response; resolves false when the file just vanished. */
  #fail(ex: Exchange, err: unknown): boolean {
    const kind = errorKind(err);
    if (kind === 'absent' && !ex.res.headersSent) return false;
    if (kind === 'denied') {
      sendError(ex, ERRORS.SKT_STATIC_FORBIDDEN.status, { detail: ERRORS.SKT_STATIC_FORBIDDEN.text });
      return true;
    }
    this.#onError?.(`${this.name}: ${ex.method} ${ex.path} failed`, err);
    sendError(ex, ERRORS.SKT_HANDLER_FAILED.status, { error: err });
    return true;
  }
}
