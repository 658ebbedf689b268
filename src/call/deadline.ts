import type { Clock, ClockTimer } from '../cluster/clock.js';

/** The real clock, for the layers above that make deadlines of their own (a request's). */
export { monotonic } from '../cluster/clock.js';

/**
 * Cancellation and time limits of the call layer, in one object per call: a {@link Deadline} is a
 * node of a tree of cancel targets with at most one timer.
 *
 * - A call's Deadline fires once, at the earliest of what was asked of it (each `getwait(t)`, the
 *   DB cluster's `query_timeout`, the parent's deadline): one timer, re-armed only when the limit
 *   moves earlier.
 * - Whatever can be cancelled — an HTTP exchange, a query attempt, a hedged attempt's own node —
 *   registers itself with `add()`, and `cancel()` cancels every target synchronously, by a direct
 *   call. An AbortSignal per call cost ~10 µs (EventTarget, undici's listener bookkeeping), as much
 *   as the rest of a call; AbortController appears only where a library asks for a signal (the
 *   active health probe).
 * - A request's own Deadline (`was.deadline`: the budget the request arrived with, and the client
 *   going away) is the parent of every call the handler makes: a child starts capped by its
 *   parent's limit, and is cancelled when the parent is.
 */

/** Something a Deadline can cancel: an exchange in flight, a query attempt, a child Deadline. */
export interface Cancellable {
  cancel(reason: unknown): void;
}

/** Why the call layer cancelled something itself; the reason passed to {@link Cancellable.cancel}. */
export class CallAbort extends Error {
  constructor(
    /** `deadline`: the call's time is up; `cancel`: a lost hedge, or the request's client went away; `closed`: shutdown. */
    readonly kind: 'deadline' | 'cancel' | 'closed',
    message: string = kind,
    /** For a deadline: how long the call had, in seconds of the call's clock (for messages). */
    readonly seconds?: number,
  ) {
    super(message);
    this.name = 'CallAbort';
  }
}

/** What owns a call's Deadline (its Gathering): told when the time is up, and after a cancel has reached every target. */
export interface DeadlineOwner {
  /** The time is up: the owner decides the order (cancel the targets before or after filling its slots). */
  expire(): void;
  /** Cancelled (from above, or by `expire`); every target has been cancelled already and reported what it could. */
  cancel(reason: unknown): void;
}

export class Deadline implements Cancellable {
  /** When it was made (clock ms): what `getwait(t)` counts from. */
  readonly created: number;
  readonly #clock: Clock;
  readonly #owner: DeadlineOwner | undefined;
  #at = Infinity;
  #timer: ClockTimer | undefined;
  #timerAt = Infinity;
  #cancelled = false;
  #reason: unknown = undefined;
  /**
   * One target (the common case: a call's one attempt) as itself, an array only from the second:
   * a per-call `[]` literal was judged long-lived by V8's allocation-site pretenuring and then kept
   * each finished call alive through scavenges (docs/performance.md, "SQL", fifth pass).
   */
  #targets: Cancellable | Cancellable[] | undefined;

  /**
   * @param owner told at the deadline and after a cancel; without one, the deadline cancels its
   *   targets with `CallAbort('deadline')` itself. A Deadline without a limit (`cap` never called)
   *   has no timer.
   * @param parent the enclosing Deadline (a request's): this one starts capped by its limit and is
   *   cancelled with it.
   */
  constructor(clock: Clock, owner?: DeadlineOwner, parent?: Deadline) {
    this.#clock = clock;
    this.#owner = owner;
    this.created = clock();
    if (parent) {
      if (parent.#at !== Infinity) this.cap(parent.#at);
      parent.add(this);
    }
  }

  /** The limit in clock ms; Infinity when none was set. */
  get at(): number {
    return this.#at;
  }

  /** The clock's time (ms). */
  now(): number {
    return this.#clock();
  }

  /** Milliseconds left (0 when past); Infinity without a limit. */
  remaining(): number {
    return this.#at === Infinity ? Infinity : Math.max(0, this.#at - this.#clock());
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** What `cancel()` was given (a CallAbort inside the call layer). */
  get reason(): unknown {
    return this.#reason;
  }

  /**
   * Limit this deadline to clock time `at` when that is earlier than its limit. A limit already
   * past fires at once (synchronously). `keepAlive: false` for limits nobody waits on (a DB
   * cluster's query_timeout), whose timer must not keep a process alive. Returns whether the limit
   * moved (false: cancelled already, or the limit was as early already).
   */
  cap(at: number, keepAlive = true): boolean {
    if (this.#cancelled || !(at < this.#at)) return false;
    this.#at = at;
    const delay = at - this.#clock();
    if (delay <= 0) {
      this.#expire();
      return true;
    }
    const clock = this.#clock;
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return true;
      clock.cancel(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = clock.after(delay, () => this.#fired());
    if (!keepAlive) this.#timer.unref?.();
    return true;
  }

  /** Stop the timer: the call has its outcome, nothing is left to time. Targets stay cancellable. */
  disarm(): void {
    if (this.#timer !== undefined) this.#clock.cancel(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Register `target`; cancelled at once when this is cancelled already. */
  add(target: Cancellable): void {
    if (this.#cancelled) {
      target.cancel(this.#reason);
      return;
    }
    const known = this.#targets;
    if (known === undefined) this.#targets = target;
    else if (Array.isArray(known)) known.push(target);
    else this.#targets = [known, target];
  }

  /** Cancel every target, once. */
  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reason = reason;
    this.disarm();
    const targets = this.#targets;
    this.#targets = undefined;
    if (Array.isArray(targets)) for (const t of targets) t.cancel(reason);
    else targets?.cancel(reason);
    this.#owner?.cancel(reason);
  }

  #fired(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#expire();
  }

  #expire(): void {
    if (this.#cancelled) return;
    if (this.#owner) this.#owner.expire();
    else this.cancel(new CallAbort('deadline'));
  }
}

/** A Deadline that follows `signal` (a library handing us an AbortSignal). */
export function deadlineFromSignal(clock: Clock, signal: AbortSignal): Deadline {
  const d = new Deadline(clock);
  if (signal.aborted) d.cancel(signal.reason);
  else signal.addEventListener('abort', () => d.cancel(signal.reason), { once: true });
  return d;
}
