import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import { monotonic, type Clock, type ClockTimer } from './clock.js';
import { nodeOf, type MemberSpec } from './member.js';

/**
 * Members from DNS (`resolve = yes`): each member written with a host name stands for every address
 * the name resolves to (A and AAAA), looked up again every `resolve_interval` or sooner when the
 * answer's TTL says so. The cluster adds and removes members as addresses appear and vanish and
 * keeps the members (and their health) whose address stays. A failed or empty lookup keeps the
 * addresses of the last good one: a DNS hiccup must not empty a cluster.
 */

/** One address of a name, with its TTL in seconds when the resolver gives one. */
export interface ResolvedAddress {
  readonly address: string;
  readonly ttl?: number;
}

/** Looks a name up; rejects when it cannot be resolved. */
export type Lookup = (host: string) => Promise<readonly ResolvedAddress[]>;

/** What a {@link Lookup} needs of a resolver: node's `dns.promises` or a `dns.promises.Resolver`. */
export interface Resolver4and6 {
  resolve4(host: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  resolve6(host: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
}

/**
 * A lookup over `resolver` (default: node's resolver, as `/etc/resolv.conf` says): A and AAAA records
 * with their TTLs. One family failing (a name with only A records) is fine; both failing is a failure.
 */
export function dnsLookup(resolver: Resolver4and6 = dns.promises): Lookup {
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host, { ttl: true }), resolver.resolve6(host, { ttl: true })]);
    if (v4.status === 'rejected' && v6.status === 'rejected') throw v4.reason;
    return [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  };
}

/** Shortest wait between lookups, whatever the TTL (a TTL of 0 must not make a busy loop). */
export const MIN_RESOLVE_MS = 1000;

/** When to look up again: `intervalMs`, or sooner when an answer's TTL ends sooner (never below 1 s). */
export function nextResolveDelay(intervalMs: number, ttls: readonly number[]): number {
  let delay = intervalMs;
  for (const ttl of ttls) delay = Math.min(delay, Math.max(MIN_RESOLVE_MS, ttl * 1000));
  return delay;
}

/** Whether a member spec names a host to resolve (IP addresses are members as they are). */
export function isName(host: string): boolean {
  return net.isIP(host) === 0;
}

/** The spec of one address of a named member: same port, weight and the rest; node renamed to the address. */
export function atAddress(spec: MemberSpec, address: string): MemberSpec {
  const named = nodeOf({ host: spec.host, port: spec.port });
  const node = nodeOf({ host: address, port: spec.port });
  // A node that adds to host:port (a database's `/dbname`) keeps what it adds.
  const rest = spec.node?.startsWith(named) ? spec.node.slice(named.length) : '';
  return { ...spec, host: address, name: spec.host, node: node + rest };
}

/** Where a resolver hands the new member list. */
export interface MemberTarget {
  readonly name: string;
  /** Replace the members; `warm`: new ones start their slow start (false for the first lookup). */
  updateMembers(specs: readonly MemberSpec[], warm: boolean): { readonly added: readonly unknown[]; readonly removed: readonly unknown[] };
}

/** Re-resolves a cluster's named members on a timer and hands the result to the cluster. */
export class MemberResolver {
  /** Last good addresses per named spec (by index in `specs`). */
  readonly #known = new Map<number, readonly ResolvedAddress[]>();
  #timer: ClockTimer | undefined;
  #running: Promise<void> | undefined;
  #resolvedOnce = false;
  #closed = false;

  constructor(
    readonly target: MemberTarget,
    readonly specs: readonly MemberSpec[],
    readonly intervalMs: number,
    readonly lookup: Lookup,
    readonly logger?: Logger,
    /** The cluster's clock: the next round's timer runs on it (tests move it by hand). */
    readonly clock: Clock = monotonic,
  ) {}

  /** Look up now, then again and again; timers are unref'd. */
  start(): void {
    if (this.#closed || this.#running || this.#timer) return;
    void this.resolveNow();
  }

  /** One round of lookups now (tests, and the timer). Resolves when the members are updated. */
  resolveNow(): Promise<void> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(): Promise<void> {
    this.#stopTimer();
    const ttls: number[] = [];
    await Promise.all(
      this.specs.map(async (spec, i) => {
        if (!isName(spec.host)) return;
        try {
          const found = await this.lookup(spec.host);
          if (found.length === 0) throw Object.assign(new Error('no addresses'), { code: 'ENODATA' });
          this.#known.set(i, found);
          for (const a of found) if (a.ttl !== undefined) ttls.push(a.ttl);
        } catch (err) {
          const kept = this.#known.get(i)?.length;
          const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          this.logger?.warn(`cluster @${this.target.name}: resolving ${spec.host} failed (${why}); ${kept ? `keeping its ${kept} address(es) from the last good answer` : 'connecting to the name as it is'}`);
        }
      }),
    );
    if (this.#closed) return;
    const next: MemberSpec[] = [];
    this.specs.forEach((spec, i) => {
      const found = isName(spec.host) ? this.#known.get(i) : undefined;
      if (found) for (const a of found) next.push(atAddress(spec, a.address));
      else next.push(spec);
    });
    const seen = new Set<string>();
    const unique = next.filter((s) => {
      const node = s.node ?? nodeOf(s);
      return seen.has(node) ? false : (seen.add(node), true);
    });
    const { added, removed } = this.target.updateMembers(unique, this.#resolvedOnce);
    if (this.#known.size > 0) this.#resolvedOnce = true;
    if (added.length > 0 || removed.length > 0) {
      const nodes = (list: readonly unknown[]): string => list.map((m) => (m as { node: string }).node).join(', ');
      this.logger?.info(`cluster @${this.target.name}: members from DNS${added.length ? ` +${nodes(added)}` : ''}${removed.length ? ` -${nodes(removed)}` : ''}`);
    }
    if (this.#closed) return;
    this.#timer = this.clock.after(nextResolveDelay(this.intervalMs, ttls), () => {
      this.#timer = undefined;
      void this.resolveNow();
    });
    this.#timer.unref?.();
  }

  close(): void {
    this.#closed = true;
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer) this.clock.cancel(this.#timer);
    this.#timer = undefined;
  }
}
