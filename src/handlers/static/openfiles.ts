import fs, { type Stats } from 'node:fs';

const noop = (): void => undefined;

/** An open descriptor shared by the downloads of one file; `release()` it when done. */
export interface OpenFile {
  readonly fd: number;
  /** The fstat of `fd` when it was opened: what its bytes are. */
  readonly stat: Stats;
  /**
   * True once a download through this descriptor read the whole file: its pages were then in the
   * page cache moments ago, so the next downloads may read them synchronously (static/pump.ts).
   */
  readonly warm: boolean;
  /** Downloads that have used this descriptor so far (static/hotfiles.ts admits a file on the second). */
  readonly uses: number;
  /** Record that the whole file was just read through this descriptor. */
  warmed(): void;
  /** One more reader: the descriptor stays open until the matching `release()`. */
  retain(): void;
  release(): void;
}

class Slot implements OpenFile {
  readonly fd: number;
  readonly stat: Stats;
  readonly at: number;
  refs = 0;
  uses = 1;
  dead = false;
  warm = false;

  constructor(fd: number, stat: Stats, at: number) {
    this.fd = fd;
    this.stat = stat;
    this.at = at;
  }

  warmed(): void {
    this.warm = true;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs === 0 && this.dead) fs.close(this.fd, noop);
  }

  /** Retire: closed now if nobody reads it, else by the last release. */
  retire(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.refs === 0) fs.close(this.fd, noop);
  }
}

/**
 * Descriptors of large static files kept open for `ttlMs` (1 s, the stat cache's TTL), like nginx's
 * `open_file_cache`: the downloads of one file in that time share one `open` + `fstat` instead of
 * paying an open, an fstat and a close each (three thread-pool round trips, a fifth of the CPU of a
 * 1 MiB download in the profile). Reads are positional, so sharing is safe. A file replaced on disk
 * is therefore seen within `ttlMs`, as with the memory cache; a descriptor is closed when it expires
 * and its last download ends, so a deleted file's space is freed within about `ttlMs` too.
 */
export class OpenFiles {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #slots = new Map<string, Slot>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { ttlMs?: number; maxEntries?: number } = {}) {
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#max = options.maxEntries ?? 256;
  }

  /**
   * An open descriptor of `path` and its fstat, shared while fresh. Resolves undefined when the
   * file is gone or no longer a regular file; other errors reject.
   */
  async open(path: string, flags: number): Promise<OpenFile | undefined> {
    const now = Date.now();
    const held = this.#slots.get(path);
    if (held && now - held.at < this.#ttlMs) {
      held.refs++;
      held.uses++;
      return held;
    }
    if (held) {
      this.#slots.delete(path);
      held.retire();
    }
    const opened = await openOnce(path, flags);
    if (!opened) return undefined;
    const slot = new Slot(opened.fd, opened.stat, now);
    slot.refs = 1;
    if (this.#slots.size < this.#max && !this.#slots.has(path)) {
      this.#slots.set(path, slot);
      this.#sweepLater();
    } else {
      // Full, or a concurrent open won the slot: this descriptor is this download's alone.
      slot.dead = true;
    }
    return slot;
  }

  /** Close every descriptor nobody reads (the rest when their downloads end) and stop the sweep. */
  clear(): void {
    for (const slot of this.#slots.values()) slot.retire();
    this.#slots.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweepLater(): void {
    if (this.#timer) return;
    // Expired descriptors must not stay open until the next request for them: a deleted file's
    // space is only freed at close. Unref'd: an idle server may exit.
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const [path, slot] of this.#slots) {
        if (now - slot.at >= this.#ttlMs) {
          this.#slots.delete(path);
          slot.retire();
        }
      }
      if (this.#slots.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }, this.#ttlMs).unref();
  }
}

function openOnce(path: string, flags: number): Promise<{ fd: number; stat: Stats } | undefined> {
  return new Promise((resolve, reject) => {
    fs.open(path, flags, (err, fd) => {
      if (err) return reject(err);
      fs.fstat(fd, (err2, stat) => {
        if (err2 || !stat.isFile()) {
          fs.close(fd, noop);
          return err2 ? reject(err2) : resolve(undefined);
        }
        resolve({ fd, stat });
      });
    });
  });
}
