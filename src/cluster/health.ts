import type { Clock, ClockTimer } from './clock.js';
import type { Member } from './member.js';

/**
 * Member health, passive and active.
 *
 * Passive: after `failures` failures in a row a member is ejected for `base × 2^(n-1)` (capped at
 * `max`), n being its ejections in a row. When the period ends it is tried again ("probation"): one
 * more failure ejects it for twice as long, one success forgives everything. So a dead member
 * costs one failed request per period, and the periods grow while it stays dead.
 *
 * Active: every `interval` each member gets a probe (the client layer sends `GET health_check_path`).
 * `unhealthy` failed probes in a row mark it down; `healthy` good probes in a row bring it back and
 * also end a passive ejection early — that is how a member that recovered gets traffic again
 * without waiting out a long period.
 */

export interface EjectOptions {
  /** Consecutive failures that eject a member (the first ejection; re-ejection after probation takes one). */
  readonly failures: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Length of the n-th ejection in a row (n ≥ 1). */
export function ejectionPeriod(n: number, options: EjectOptions): number {
  // 2^(n-1) overflows to Infinity for large n, which Math.min turns back into the cap.
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, n - 1));
}

/** Record a good exchange: the member is trusted again. */
export function recordSuccess(member: Member): void {
  member.consecutiveFailures = 0;
  member.ejections = 0;
}

/** Record a failed exchange; returns true when it ejected the member. */
export function recordFailure(member: Member, options: EjectOptions, now: number): boolean {
  member.failures++;
  member.consecutiveFailures++;
  if (now < member.ejectedUntil) return false; // already out: concurrent failures must not stack periods
  const onProbation = member.ejections > 0;
  if (!onProbation && member.consecutiveFailures < options.failures) return false;
  member.ejections++;
  member.totalEjections++;
  member.ejectedUntil = now + ejectionPeriod(member.ejections, options);
  // Back on probation when the period ends: a slow start counts from then.
  member.warmFrom = member.ejectedUntil;
  return true;
}

/** End an ejection at once (a good active probe). */
export function readmit(member: Member): void {
  member.ejectedUntil = 0;
  member.ejections = 0;
  member.consecutiveFailures = 0;
}

export interface ActiveCheckOptions {
  readonly intervalMs: number;
  /** Each probe is abandoned (and counted as failed) after this long. */
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Sends one probe; resolves true for a healthy answer. Must settle soon after `signal` aborts. */
export type Probe = (member: Member, signal: AbortSignal) => Promise<boolean>;

/** Apply one probe result to a member's active state; returns the change, if any. */
export function applyProbe(member: Member, healthy: boolean, options: ActiveCheckOptions, now: number): 'up' | 'down' | undefined {
  member.probeStreak = healthy ? Math.max(1, member.probeStreak + 1) : Math.min(-1, member.probeStreak - 1);
  if (healthy && member.probeStreak >= options.healthyThreshold) {
    const wasOut = member.activeDown || now < member.ejectedUntil;
    member.activeDown = false;
    if (now < member.ejectedUntil) readmit(member);
    if (wasOut) member.warmFrom = now;
    return wasOut ? 'up' : undefined;
  }
  if (!healthy && -member.probeStreak >= options.unhealthyThreshold && !member.activeDown) {
    member.activeDown = true;
    return 'down';
  }
  return undefined;
}

/**
 * Probes every member on a timer. Probes of one member never overlap; `close()` clears the timer and
 * aborts probes in flight, so nothing keeps the process alive or fires after shutdown. The interval
 * and each probe's timeout run on the cluster's Clock, so a test moves them by hand.
 */
export class ActiveChecker {
  #timer: ClockTimer | undefined;
  #closed = false;
  /** Probes in flight, by member: one at a time each, all aborted by close(). */
  readonly #probes = new Map<Member, { readonly abort: AbortController; readonly timer: ClockTimer }>();

  constructor(
    /** The members to probe: a list, or a getter for a cluster whose members change (DNS). */
    readonly members: readonly Member[] | (() => readonly Member[]),
    readonly options: ActiveCheckOptions,
    readonly probe: Probe,
    readonly clock: Clock,
    /** Told about every up/down change, for the log. */
    readonly onChange: (member: Member, change: 'up' | 'down') => void = () => {},
  ) {}

  /** Probe now (a member dead at start is found at once), then every interval. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#every();
    void this.runOnce();
  }

  /** The next round, one interval from now, as setInterval would: a slow round does not delay the next. */
  #every(): void {
    this.#timer = this.clock.after(this.options.intervalMs, () => {
      if (this.#closed) return;
      this.#every();
      void this.runOnce();
    });
    this.#timer.unref?.();
  }

  /** One round of probes (the timer calls it; tests may too). Resolves when the round is done. */
  async runOnce(): Promise<void> {
    const members = typeof this.members === 'function' ? this.members() : this.members;
    await Promise.all(members.map((m) => this.#check(m)));
  }

  async #check(member: Member): Promise<void> {
    if (this.#probes.has(member) || this.#closed) return;
    const abort = new AbortController();
    // A timer kept ref'd, not AbortSignal.timeout(): that one is unref'd and would let a hung probe dangle.
    const timer = this.clock.after(this.options.timeoutMs, () => abort.abort());
    this.#probes.set(member, { abort, timer });
    let healthy: boolean;
    try {
      healthy = await this.probe(member, abort.signal);
    } catch {
      healthy = false;
    } finally {
      this.clock.cancel(timer);
      this.#probes.delete(member);
    }
    if (this.#closed) return;
    const change = applyProbe(member, healthy, this.options, this.clock());
    if (change) this.onChange(member, change);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) this.clock.cancel(this.#timer);
    this.#timer = undefined;
    for (const { abort, timer } of this.#probes.values()) {
      this.clock.cancel(timer);
      abort.abort();
    }
  }
}
