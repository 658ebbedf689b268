import type { SkitaiError } from '../errors.js';
import type { Clock } from '../cluster/clock.js';
import { CallAbort, Deadline, type DeadlineOwner } from './deadline.js';
import { Results, type Result } from './result.js';

/**
 * What every call — HTTP (`client/call.ts`) and SQL (`db/call.ts`) — does between sending and
 * answering: one slot per member asked, results arriving in any order (even before the sender's
 * `start()` returns), a deadline counted from when the call was MADE, synthesized TIMEOUTs for the
 * slots still empty at the deadline, the caller's filter on each result, and any number of
 * getwait/getswait waiters sharing one outcome. A call owns one Gathering; composition rather than
 * a base class, so none of these names becomes a property of the call object (where the RPC proxy
 * would stop treating it as a method name).
 *
 * Time is the call's one {@link Deadline}: each wait lowers its limit, the deadline's one timer
 * ends the call. When the deadline is cancelled from above (the request's client went away), the
 * slots still empty are filled as cancelled.
 */

/** One result the call waits for. `node` says who is being asked (a sender may change it as it fails over), for a synthesized TIMEOUT. */
export interface Slot {
  node: string;
}

/** Where a sender reports: each slot's Result, once. May be called before `start()` returns. */
export interface Sink<R> {
  arrive(index: number, result: R): void;
}

/** How one family of calls differs: its error code, its UNSENT, TIMEOUT and cancelled results, its cache hook. */
export interface GatherKind<R extends Result<unknown>, O> {
  /** Misuse of getwait/getswait (`SKT_CLIENT_USAGE`, `SKT_DB_USAGE`). */
  usage(message: string): SkitaiError;
  /** The answer of a call that was never sent. */
  unsent(owner: O): R;
  /** The result of a slot nobody answered by the deadline. */
  timedOut(node: string, seconds: number): R;
  /** The result of a slot still empty when the call was cancelled from above (the request's client went away). */
  cancelled(node: string): R;
  /** The outcome is known (the owner hooks the result cache here). */
  finished(owner: O, results: Results): void;
  /**
   * At the deadline, cancel the senders before filling empty slots, so an attempt can report what
   * it was doing (SQL: waiting for a connection, or cancelled on the server); otherwise cancel after.
   */
  readonly abortFirst: boolean;
}

/**
 * A getwait/getswait in progress. A class, not an object literal: V8 may decide that a literal's
 * objects live long and allocate them in old space from then on (allocation-site pretenuring), and
 * a dead waiter there keeps its promise's continuation alive through every scavenge
 * (docs/performance.md, "SQL", fifth pass). Objects made by `new` are never pretenured that way.
 */
class Waiter {
  constructor(
    readonly resolve: (value: never) => void,
    readonly reject: (err: unknown) => void,
    /** getwait: exactly one Result. */
    readonly one: boolean,
  ) {}
}

export class Gathering<R extends Result<unknown>, O> implements Sink<R>, DeadlineOwner {
  /** The call's deadline and cancel tree; senders register what they can cancel. */
  readonly deadline: Deadline;
  readonly #clock: Clock;
  readonly #kind: GatherKind<R, O>;
  readonly #owner: O;
  readonly #filter: ((result: R) => void) | undefined;
  /**
   * One slot (lb, dlb, db) as itself, several (map, dmap) as an array: a per-call array literal is
   * a pretenuring candidate that, once tenured, keeps the whole call alive through scavenges.
   */
  #slots: Slot | readonly Slot[] | undefined;
  /** The results of several slots; one slot's result is `#one`. */
  #results: (R | undefined)[] | undefined;
  #one: R | undefined;
  /** Results a sender reported before `start()` returned. */
  #early: [number, R][] | undefined;
  #pending = 0;
  #final: Results | undefined;
  #filterError: unknown;
  /** One waiter (the common case) as itself; an array only from the second on. */
  #waiters: Waiter | Waiter[] | undefined;

  /** `parent`: the request's deadline, which caps this call's and cancels it. */
  constructor(kind: GatherKind<R, O>, owner: O, filter: ((result: R) => void) | undefined, clock: Clock, parent?: Deadline) {
    this.#kind = kind;
    this.#owner = owner;
    this.#filter = filter;
    this.#clock = clock;
    this.deadline = new Deadline(clock, this, parent);
  }

  /** When the call was made (clock ms). */
  get created(): number {
    return this.deadline.created;
  }

  /** Whether the call was sent (or answered from the cache). */
  get sent(): boolean {
    return this.#slots !== undefined;
  }

  /** Every result, once known (the owner's result class; typed loosely, as Results is generic on `data`). */
  get final(): Results | undefined {
    return this.#final;
  }

  /** The sender's `start()` returned this slot, or these slots: replay what arrived meanwhile. */
  begin(slots: Slot | readonly Slot[]): void {
    this.#slots = slots;
    if (isList(slots)) {
      this.#results = new Array<R | undefined>(slots.length);
      this.#pending = slots.length;
      if (slots.length === 0) this.settle([]);
    } else this.#pending = 1;
    const early = this.#early;
    this.#early = undefined;
    if (early) for (const [i, r] of early) this.arrive(i, r);
    // Cancelled before the sender started (the request's client left meanwhile): fill what is empty.
    if (!this.#final && this.deadline.cancelled) this.cancel(this.deadline.reason);
  }

  /**
   * When the deadline has already passed or was cancelled (a request whose budget was spent, or
   * whose client left, before this call was sent): the call's one slot, named `node`, gets its
   * TIMEOUT or cancellation at once, and true — send nothing.
   */
  expiredBeforeSend(node: string): boolean {
    const d = this.deadline;
    if (!d.cancelled && d.remaining() !== 0) return false;
    this.begin({ node });
    if (!this.#final) this.expire();
    return true;
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
    if (this.#final) return; // arrived after the deadline: the TIMEOUT stands
    const results = this.#results;
    if (results === undefined) {
      if (this.#one) return;
      this.#applyFilter(result);
      this.#one = result;
      this.#pending = 0;
      this.#finish(result);
      return;
    }
    if (results[index]) return;
    this.#applyFilter(result);
    results[index] = result;
    if (--this.#pending === 0) this.#finish(results as R[]);
  }

  /** getwait (`one`) or getswait: resolves with the Result or the Results by `timeout` seconds after the call was made. */
  wait(timeout: number, one: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => this.#wait(timeout, one, resolve as (v: never) => void, reject));
  }

  #wait(timeout: number, one: boolean, resolve: (v: never) => void, reject: (err: unknown) => void): void {
    if (!this.#slots) {
      this.#deliver(new Waiter(resolve, reject, one), Results.fromList([this.#kind.unsent(this.#owner)]));
      return;
    }
    if (this.#final) {
      this.#deliver(new Waiter(resolve, reject, one), this.#final);
      return;
    }
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
      reject(this.#kind.usage('getwait/getswait take a timeout in seconds'));
      return;
    }
    const waiter = new Waiter(resolve, reject, one);
    const known = this.#waiters;
    if (known === undefined) this.#waiters = waiter;
    else if (Array.isArray(known)) known.push(waiter);
    else this.#waiters = [known, waiter];
    // A limit that passed before the call was sent (its timer found no slots) ends it now. When
    // this wait moved the limit, cap() has armed the timer or expired the call itself.
    if (!this.deadline.cap(this.created + timeout * 1000) && !this.#final && this.deadline.remaining() === 0) this.expire();
  }

  #deliver(waiter: Waiter, results: Results): void {
    if (this.#filterError !== undefined) waiter.reject(this.#filterError);
    else if (!waiter.one) waiter.resolve(results as never);
    else if (results.length !== 1) waiter.reject(this.#kind.usage(`this call has ${results.length} results; use getswait()`));
    else waiter.resolve(results[0] as never);
  }

  /** The deadline: every empty slot gets a TIMEOUT, and the senders are cancelled. */
  expire(): void {
    if (this.#final || !this.#slots) return;
    const abortFirst = this.#kind.abortFirst;
    const seconds = Math.round(this.#clock() - this.created) / 1000;
    const reason = new CallAbort('deadline', 'deadline', seconds);
    if (abortFirst) {
      this.deadline.cancel(reason);
      if (this.#final) return;
    }
    this.#fill((node) => this.#kind.timedOut(node, seconds));
    if (!abortFirst) this.deadline.cancel(reason);
  }

  /** Internal (DeadlineOwner): the deadline was cancelled; the senders have reported what they could. */
  cancel(reason: unknown): void {
    if (this.#final || !this.#slots) return;
    if (reason instanceof CallAbort && reason.kind === 'deadline') {
      const seconds = Math.round(this.#clock() - this.created) / 1000;
      this.#fill((node) => this.#kind.timedOut(node, seconds));
    } else this.#fill((node) => this.#kind.cancelled(node));
  }

  #fill(make: (node: string) => R): void {
    const slots = this.#slots!;
    const results = this.#results;
    if (results === undefined) {
      let r = this.#one;
      if (!r) {
        r = make((slots as Slot).node);
        this.#applyFilter(r);
        this.#one = r;
      }
      this.#finish(r);
      return;
    }
    for (let i = 0; i < results.length; i++) {
      if (results[i]) continue;
      const r = make((slots as readonly Slot[])[i]!.node);
      this.#applyFilter(r);
      results[i] = r;
    }
    this.#finish(results as R[]);
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

  /** `list`: every slot's result, or the one slot's. */
  #finish(list: readonly R[] | R): void {
    const results = isList(list) ? Results.fromList(list) : Results.fromList1(list);
    this.#final = results;
    this.deadline.disarm();
    this.#kind.finished(this.#owner, results);
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters === undefined) return;
    if (!Array.isArray(waiters)) this.#deliver(waiters, results);
    else for (const w of waiters) this.#deliver(w, results);
  }
}

function isList<T>(x: T | readonly T[]): x is readonly T[] {
  return Array.isArray(x);
}
