import { promises as fsp, type Stats } from 'node:fs';
import { isInside } from './safepath.js';

/** What a path under the web root turned out to be. */
export type Lookup =
  | { readonly kind: 'file'; readonly real: string; readonly stat: Stats }
  | { readonly kind: 'dir'; readonly real: string }
  /** Absent, not a regular file (FIFO, socket, device), or a symlink that leads out of the root. */
  | { readonly kind: 'missing' }
  /** The file system refused to tell (EACCES, EPERM). */
  | { readonly kind: 'denied'; readonly error: NodeJS.ErrnoException };

const MISSING: Lookup = { kind: 'missing' };

// Errors that mean "no such file here", whatever the precise reason.
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG']);
const REFUSED = new Set(['EACCES', 'EPERM']);

/**
 * What a file-system error means to a client: the file is `absent` (404), reading it is `denied`
 * (403), or something else went wrong (500).
 */
export function errorKind(err: unknown): 'absent' | 'denied' | 'other' {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (ABSENT.has(code)) return 'absent';
  if (REFUSED.has(code)) return 'denied';
  return 'other';
}

interface Slot {
  at: number;
  value: Lookup;
}

/**
 * Resolves request paths to files with `realpath` + `stat`, and remembers each answer for `ttlMs`
 * (1 s by default) in a bounded map. Negative answers are kept too: when an app shares the static
 * mount, every app request is first a static miss, and without this each would cost two syscalls.
 * A changed or new file is therefore seen within `ttlMs`.
 */
export class StatCache {
  readonly #root: string;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #slots = new Map<string, Slot>();
  /** Probes under way: the requests that find an answer expired together wait for one probe. */
  readonly #probing = new Map<string, Promise<Lookup>>();
  readonly #now: () => number;
  #realRoot: string | undefined;

  /** `now` (milliseconds, `Date.now` by default) is injected by tests to move past the TTL without waiting. */
  constructor(root: string, options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {
    this.#root = root;
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#max = options.maxEntries ?? 4096;
  }

  /** Look `abs` (an absolute path already checked to lie under the root) up, from memory when fresh. */
  async lookup(abs: string): Promise<Lookup> {
    const slot = this.#slots.get(abs);
    const now = this.#now();
    if (slot && now - slot.at < this.#ttlMs) return slot.value;
    return this.restat(abs, now);
  }

  /**
   * Probe `abs` now, fresh answer or not, and remember what is found (as of `now`, when the probe
   * began); a probe under way for it is shared. For a caller that wants a path's answer renewed
   * before it expires (the static handler's hot paths).
   */
  restat(abs: string, now = this.#now()): Promise<Lookup> {
    let probe = this.#probing.get(abs);
    if (probe === undefined) {
      probe = this.#probe(abs).then(
        (value) => {
          this.#probing.delete(abs);
          this.remember(abs, value, now);
          return value;
        },
        (err: unknown) => {
          this.#probing.delete(abs);
          throw err;
        },
      );
      this.#probing.set(abs, probe);
    }
    return probe;
  }

  /** The remembered answer for `abs` while it is fresh, without touching the disk; undefined otherwise. */
  peek(abs: string): Lookup | undefined {
    const slot = this.#slots.get(abs);
    return slot && this.#now() - slot.at < this.#ttlMs ? slot.value : undefined;
  }

  /** When the remembered answer for `abs` was found (Date.now() ms), while it is fresh. */
  checkedAt(abs: string): number | undefined {
    const slot = this.#slots.get(abs);
    return slot && Date.now() - slot.at < this.#ttlMs ? slot.at : undefined;
  }

  /** Record a fresher answer (after a file was re-read), so it is not re-read again within the TTL. */
  remember(abs: string, value: Lookup, at = this.#now()): void {
    this.#slots.delete(abs);
    this.#slots.set(abs, { at, value });
    // Map order is insertion order: the first key is the oldest answer.
    if (this.#slots.size > this.#max) this.#slots.delete(this.#slots.keys().next().value!);
  }

  /** Forget every answer. */
  clear(): void {
    this.#slots.clear();
    this.#probing.clear();
  }

  async #probe(abs: string): Promise<Lookup> {
    try {
      const realRoot = await this.#resolveRoot();
      const real = await fsp.realpath(abs);
      // A symlink inside the root that leads out of it is treated as absent: a 404 says nothing
      // about whether the target exists, which a 403 would.
      if (!isInside(realRoot, real)) return MISSING;
      const stat = await fsp.stat(real);
      if (stat.isFile()) return { kind: 'file', real, stat };
      if (stat.isDirectory()) return { kind: 'dir', real };
      // Opening a FIFO would block a libuv thread until a writer appears; devices and sockets are no content.
      return MISSING;
    } catch (err) {
      const kind = errorKind(err);
      if (kind === 'absent') return MISSING;
      if (kind === 'denied') return { kind: 'denied', error: err as NodeJS.ErrnoException };
      throw err;
    }
  }

  // Resolved lazily and only kept once it succeeds, so a root created after start-up still works.
  async #resolveRoot(): Promise<string> {
    if (this.#realRoot === undefined) this.#realRoot = await fsp.realpath(this.#root);
    return this.#realRoot;
  }
}
