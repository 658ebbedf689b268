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

let pending: TickEnd[] = [];
let spare: TickEnd[] = [];
let scheduled = false;

/** Run `item.flush()` at the end of this tick (after the current synchronous code). */
export function atTickEnd(item: TickEnd): void {
  pending.push(item);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  scheduled = false;
  const list = pending;
  pending = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flush();
  list.length = 0;
  spare = list;
}
