import net from 'node:net';

/** How failed logins from one address are slowed down. */
export interface BackoffOptions {
  /** Failures allowed before the address is locked out; 0 turns the back-off off. */
  readonly limit: number;
  /** First lockout, ms; each further failure doubles it up to `maxLockMs`. */
  readonly baseLockMs?: number;
  readonly maxLockMs?: number;
  /** An address with no failure for this long starts afresh. */
  readonly forgetMs?: number;
  /** Addresses tracked at most; the stalest are forgotten first. */
  readonly maxEntries?: number;
  readonly clock?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  last: number;
}

/**
 * Per-address failure counts for HTTP Basic logins: after `limit` failures in a row an address is
 * refused without its password being checked, for 1 s, then 2 s, 4 s … up to 60 s per further
 * failure. A success clears the address. Memory is bounded (`maxEntries`, stalest evicted).
 */
export class LoginBackoff {
  readonly limit: number;
  readonly #base: number;
  readonly #max: number;
  readonly #forget: number;
  readonly #maxEntries: number;
  readonly #clock: () => number;
  /** Insertion order = staleness order: an entry is re-inserted on every failure. */
  readonly #entries = new Map<string, Entry>();
  #failures = 0;
  #lockouts = 0;

  constructor(options: BackoffOptions) {
    this.limit = options.limit;
    this.#base = options.baseLockMs ?? 1000;
    this.#max = options.maxLockMs ?? 60_000;
    this.#forget = options.forgetMs ?? 15 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Milliseconds `address` must still wait; 0 when it may try. */
  lockedFor(address: string): number {
    if (this.limit === 0) return 0;
    address = backoffKey(address);
    const e = this.#entries.get(address);
    if (!e) return 0;
    const now = this.#clock();
    if (now - e.last > this.#forget) {
      this.#entries.delete(address);
      return 0;
    }
    return Math.max(0, e.lockedUntil - now);
  }

  /** Count a failure; returns the lockout it started in ms (0 when the address may still try). */
  fail(address: string): number {
    this.#failures++;
    if (this.limit === 0) return 0;
    address = backoffKey(address);
    const now = this.#clock();
    let e = this.#entries.get(address);
    if (e && now - e.last > this.#forget) e = undefined;
    this.#entries.delete(address);
    e ??= { failures: 0, lockedUntil: 0, last: now };
    e.failures++;
    e.last = now;
    let lock = 0;
    if (e.failures >= this.limit) {
      lock = Math.min(this.#max, this.#base * 2 ** Math.min(30, e.failures - this.limit));
      e.lockedUntil = now + lock;
      this.#lockouts++;
    }
    this.#entries.set(address, e);
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return lock;
  }

  /** A good login: the address starts afresh. */
  succeed(address: string): void {
    if (this.#entries.size > 0) this.#entries.delete(backoffKey(address));
  }

  /** Counters for the status page (no addresses: they are personal data). */
  status(): { failures: number; lockouts: number; lockedNow: number; tracked: number } {
    const now = this.#clock();
    let lockedNow = 0;
    for (const e of this.#entries.values()) if (e.lockedUntil > now) lockedNow++;
    return { failures: this.#failures, lockouts: this.#lockouts, lockedNow, tracked: this.#entries.size };
  }
}

/**
 * What failures are counted against: an IPv4 address as it is, an IPv6 address by its /64. One
 * subscriber line or host is routed a whole /64 and may pick any source address in it, so counting
 * per IPv6 address would give a guesser 2^64 fresh starts.
 */
export function backoffKey(address: string): string {
  const zone = address.indexOf('%');
  const ip = zone < 0 ? address : address.slice(0, zone);
  if (!net.isIPv6(ip)) return address;
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  // A dotted IPv4 tail takes two groups, but lies past the first four anyway.
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
