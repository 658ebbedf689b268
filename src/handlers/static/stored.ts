import type { Stats } from 'node:fs';
import type { Coding } from '../../http/compress.js';
import type { Lookup, StatCache } from './statcache.js';

/** Precompressed siblings of a file, by coding (docs/static.md). */
export type Stored = Partial<Record<Coding, Extract<Lookup, { kind: 'file' }>>>;

/** The name suffix of a stored encoding. */
export const SUFFIX: Readonly<Record<Coding, string>> = { br: '.br', gzip: '.gz' };
const CODINGS: readonly Coding[] = ['br', 'gzip'];

/**
 * `path.br` and `path.gz`, when they are regular files under the root (the stat cache's rule) and
 * not older than the file they encode (`stat`): an older one was made from an earlier version and
 * would serve old content. Undefined when there is none.
 */
export async function storedEncodings(stats: StatCache, path: string, stat: Stats): Promise<Stored | undefined> {
  let stored: Stored | undefined;
  for (const coding of CODINGS) {
    const found = await stats.lookup(path + SUFFIX[coding]);
    if (found.kind === 'file' && found.stat.mtimeMs >= stat.mtimeMs) (stored ??= {})[coding] = found;
  }
  return stored;
}
