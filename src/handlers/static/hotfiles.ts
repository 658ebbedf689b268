import fs, { type Stats } from 'node:fs';
import { FileCache, type CachedFile } from './filecache.js';
import type { OpenFile } from './openfiles.js';

// A file is loaded on its second download through one shared descriptor, i.e. within about a
// second of the first: a file fetched once in a while keeps streaming and costs no memory.
const HOT_AFTER = 2;

const noop = (): void => undefined;

/**
 * Whole copies of files too large for the small-file cache (`static_cache_file_max`) but
 * downloaded again and again, up to a budget of their own (`static_cache_hot_size`), least recently
 * used out first: a 1 MiB hit is then one `end(buffer)`, as nginx's `sendfile` from the page cache
 * is one syscall, instead of reading the file in chunks and writing each (docs/static.md). A file
 * may take at most a quarter of the budget, so one large file cannot empty the cache for the rest.
 * Entries are never compressed on the fly (large files were not before either). Freshness is the
 * small cache's rule: the caller passes the stat it trusts (at most a second old) and an entry of
 * another version is dropped.
 */
export class HotFiles {
  /** The copies, for the hot path's `touch()`; keyed by real path. */
  readonly files: FileCache;
  readonly #fileMax: number;
  readonly #loading = new Set<string>();
  // clear() bumps it: a load finishing after the cache was dropped must not refill it.
  #generation = 0;

  /** `onDrop`: told when a copy leaves the cache, so that nothing else keeps it alive past the budget. */
  constructor(maxBytes: number, onDrop?: (real: string) => void) {
    this.files = new FileCache(maxBytes, onDrop);
    this.#fileMax = Math.floor(maxBytes / 4);
  }

  /** The copy of `real` if it is the version `stat` describes. */
  get(real: string, stat: Stats): CachedFile | undefined {
    return this.#fileMax > 0 ? this.files.get(real, stat) : undefined;
  }

  /**
   * Told of every download streamed through `file` (the descriptor shared by the downloads of
   * `real`): from its second one, read the whole file on the thread pool and keep it, unless it is
   * too large or already being read. The download itself streams as before. Returns the load, if
   * one started (it never rejects).
   */
  consider(real: string, file: OpenFile): Promise<void> | undefined {
    const size = file.stat.size;
    if (file.uses < HOT_AFTER || size === 0 || size > this.#fileMax || this.#loading.has(real)) return undefined;
    this.#loading.add(real);
    file.retain();
    const generation = this.#generation;
    return readWhole(file).then(
      (data) => {
        if (data && generation === this.#generation) this.files.put(real, data, file.stat);
      },
      noop,
    ).finally(() => {
      this.#loading.delete(real);
      file.release();
    });
  }

  /** Drop every copy. */
  clear(): void {
    this.#generation++;
    this.files.clear();
  }
}

/**
 * The bytes of `file`, or undefined when a read fails or the file changed while it was read (its
 * fstat after the read differs from the one the descriptor was opened with): a copy mixing two
 * versions must not be served under the old one's validators.
 */
function readWhole(file: OpenFile): Promise<Buffer | undefined> {
  const size = file.stat.size;
  // Unpooled and exactly sized: it lives as long as the entry.
  const data = Buffer.allocUnsafeSlow(size);
  return new Promise((resolve) => {
    const step = (pos: number): void => {
      fs.read(file.fd, data, pos, size - pos, pos, (err, bytes) => {
        if (err || bytes === 0) return resolve(undefined);
        if (pos + bytes < size) return step(pos + bytes);
        fs.fstat(file.fd, (err2, after) => {
          resolve(!err2 && after.size === size && after.mtimeMs === file.stat.mtimeMs ? data : undefined);
        });
      });
    };
    step(0);
  });
}
