/**
 * Work a call leaves for the end of the tick it was made in, unless a wait does it first: an HTTP
 * call's start (so `was.lb(...).getwait(2)` can send its 2 s), a DB call's `query_timeout` timer
 * (so `execute(...).getwait(2)` arms one timer, not two). One microtask per tick for every call
 * made in it, and two arrays swapped rather than one made per tick.
 */

/** Something with work left for the end of the tick; `flush()` does nothing when a wait did it. */
export interface TickEnd {
  flush(): void;
}

// Entries are cleared rather than the arrays truncated: `length = 0` gives the backing store back,
// and the next tick's pushes grew it again (about 260 bytes per call under load).
let pending: (TickEnd | undefined)[] = [];
let count = 0;
let spare: (TickEnd | undefined)[] = [];
let scheduled = false;

/** Run `item.flush()` at the end of this tick (after the current synchronous code). */
export function atTickEnd(item: TickEnd): void {
  if (count < pending.length) pending[count] = item;
  else pending.push(item);
  count++;
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  scheduled = false;
  const list = pending;
  const n = count;
  pending = spare;
  count = 0;
  for (let i = 0; i < n; i++) {
    const item = list[i]!;
    list[i] = undefined;
    item.flush();
  }
  spare = list;
}
