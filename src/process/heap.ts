import v8 from 'node:v8';

let tuned = false;

/**
 * Turn off V8's allocation-site pretenuring in a serving process (docs/performance.md, "Pattern 3").
 *
 * V8 allocates an object literal straight in old space once most of the objects it made were found
 * alive at a scavenge. Under `was.dlb` load through a route a few per-query literals (our own, and
 * node-postgres's `rows` array) were judged that way, and the decision feeds itself: each pretenured
 * object dies with its request but stays in old space until the next mark-compact, holding that
 * request's young objects alive through every scavenge, so their literals are found alive too. Old
 * space grew ~1.6 MB per scavenge, with mark-compacts every few seconds. A server's per-request
 * objects die young; what lives long (caches, pools, compiled routes) reaches old space after two
 * scavenges anyway. Idempotent.
 */
export function tuneHeap(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
