import type { SkitaiError } from '../errors.js';
import { Abort } from './abort.js';
import { CallAbort } from './failure.js';
import { Results, type Result } from './result.js';

/**
 * What every call — HTTP (`client/call.ts`) and SQL (`db/call.ts`) — does between sending and
 * answering: one slot per member asked, results arriving in any order (even before the sender's
 * `start()` returns), a deadline counted from when the call was MADE, synthesized TIMEOUTs for the
 * slots still empty at the deadline, the caller's filter on each result, and any number of
 * getwait/getswait waiters sharing one outcome. A call owns one Gathering; composition rather than
 * a base class, so none of these names becomes a property of the call object (where the RPC proxy
 * would stop treating it as a method name).
 */

/** One result the call waits for. `node` says who is being asked (a sender may change it as it fails over), for a synthesized TIMEOUT. */
export interface Slot {
  node: string;
}

/** Where a sender reports: each slot's Result, once. May be called before `start()` returns. */
export interface Sink<R> {
  arrive(index: number, result: R): void;
}

/** How one family of calls differs: its error code, its UNSENT and TIMEOUT results, its cache hook. */
export interface GatherKind<R extends Result<unknown>, O> {
  /** Misuse of getwait/getswait (`SKT_CLIENT_USAGE`, `SKT_DB_USAGE`). */
  usage(message: string): SkitaiError;
  /** The answer of a call that was never sent. */
  unsent(owner: O): R;
  /** The result of a slot nobody answered by the deadline. */
  timedOut(node: string, seconds: number): R;
  /** The outcome is known (the owner hooks the result cache here). */
  finished(owner: O, results: Results): void;
  /**
   * At the deadline, abort the senders before filling empty slots, so an attempt can report what it
   * was doing (SQL: waiting for a connection, or cancelled on the server); otherwise abort after.
   */
  readonly abortFirst: boolean;
}

interface Waiter {
  readonly resolve: (value: never) => void;
  readonly reject: (err: unknown) => void;
  /** getwait: exactly one Result. */
  readonly one: boolean;
  readonly timer: NodeJS.Timeout | undefined;
}

export class Gathering<R extends Result<unknown>, O> implements Sink<R> {
  readonly created = performance.now();
  /** Fires at the deadline; senders register what they can cancel. */
  readonly abort = new Abort();
  readonly #kind: GatherKind<R, O>;
  readonly #owner: O;
  readonly #filter: ((result: R) => void) | undefined;
  #slots: Slot[] | undefined;
  #results: (R | undefined)[] = [];
  /** Results a sender reported before `start()` returned. */
  #early: [number, R][] | undefined;
  #pending = 0;
  #final: Results | undefined;
  #filterError: unknown;
  #waiters: Waiter[] | undefined;

  constructor(kind: GatherKind<R, O>, owner: O, filter: ((result: R) => void) | undefined) {
    this.#kind = kind;
    this.#owner = owner;
    this.#filter = filter;
  }

  /** Whether the call was sent (or answered from the cache). */
  get sent(): boolean {
    return this.#slots !== undefined;
  }

  /** Every result, once known (the owner's result class; typed loosely, as Results is generic on `data`). */
  get final(): Results | undefined {
    return this.#final;
  }

  /** The sender's `start()` returned these slots: replay what arrived meanwhile. */
  begin(slots: Slot[]): void {
    this.#slots = slots;
    this.#results = new Array<R | undefined>(slots.length);
    this.#pending = slots.length;
    if (slots.length === 0) this.settle([]);
    const early = this.#early;
    this.#early = undefined;
    if (early) for (const [i, r] of early) this.arrive(i, r);
  }

  /** The outcome without sending (a cache hit). */
  settle(list: readonly R[]): void {
    this.#slots ??= [];
    this.#finish(list);
  }

  /** Internal (Sink): a sender reports slot `index`. */
  arrive(index: number, result: R): void {
    if (!this.#slots) {
      (this.#early ??= []).push([index, result]);
      return;
    }
    if (this.#final || this.#results[index]) return; // arrived after the deadline: the TIMEOUT stands
    this.#applyFilter(result);
    this.#results[index] = result;
    if (--this.#pending === 0) this.#finish(this.#results as R[]);
  }

  /** getwait (`one`) or getswait: resolves with the Result or the Results. */
  wait(timeout: number, one: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => this.#wait(timeout, one, resolve as (v: never) => void, reject));
  }

  #wait(timeout: number, one: boolean, resolve: (v: never) => void, reject: (err: unknown) => void): void {
    if (!this.#slots) {
      this.#deliver({ resolve, reject, one, timer: undefined }, Results.fromList([this.#kind.unsent(this.#owner)]));
      return;
    }
    if (this.#final) {
      this.#deliver({ resolve, reject, one, timer: undefined }, this.#final);
      return;
    }
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
      reject(this.#kind.usage('getwait/getswait take a timeout in seconds'));
      return;
    }
    // setTimeout fires at once for delays past 2^31-1 ms, so "wait forever" is capped at ~24 days.
    const remaining = Math.min(this.created + timeout * 1000 - performance.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => this.expire(), Math.max(0, remaining));
    (this.#waiters ??= []).push({ resolve, reject, one, timer });
  }

  #deliver(waiter: Waiter, results: Results): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (this.#filterError !== undefined) waiter.reject(this.#filterError);
    else if (!waiter.one) waiter.resolve(results as never);
    else if (results.length !== 1) waiter.reject(this.#kind.usage(`this call has ${results.length} results; use getswait()`));
    else waiter.resolve(results[0] as never);
  }

  /** The deadline: every empty slot gets a TIMEOUT, and the senders are aborted. */
  expire(): void {
    if (this.#final || !this.#slots) return;
    const abortFirst = this.#kind.abortFirst;
    if (abortFirst) {
      this.abort.abort(new CallAbort('deadline'));
      if (this.#final) return;
    }
    const seconds = Math.round(performance.now() - this.created) / 1000;
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      if (this.#results[i]) continue;
      const timeout = this.#kind.timedOut(slots[i]!.node, seconds);
      this.#applyFilter(timeout);
      this.#results[i] = timeout;
    }
    this.#finish(this.#results as R[]);
    if (!abortFirst) this.abort.abort(new CallAbort('deadline'));
  }

  #applyFilter(result: R): void {
    const filter = this.#filter;
    if (!filter || this.#filterError !== undefined) return;
    try {
      filter(result);
    } catch (err) {
      this.#filterError = err; // a bug in the caller's code: getwait rejects with it
    }
  }

  #finish(list: readonly R[]): void {
    const results = Results.fromList(list);
    this.#final = results;
    this.#kind.finished(this.#owner, results);
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters) for (const w of waiters) this.#deliver(w, results);
  }
}
