import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let lib: typeof Undici | undefined;

/**
 * undici, loaded on first use: it is the largest dependency to load (~60 ms at start-up), and a
 * site that makes no outgoing call (no cluster, no proxy, no `was.get`) never needs it.
 */
export function undici(): typeof Undici {
  return (lib ??= createRequire(import.meta.url)('undici') as typeof Undici);
}
