import { LatencyRing } from './latency.js';

/** What a balancer and a status view see of a member. `panic` is reported by the cluster, not here. */
export type MemberState = 'healthy' | 'ejected' | 'down';

/** Where a member listens and how much traffic it takes, as parsed from `members = host:port weight`. */
export interface MemberSpec {
  readonly host: string;
  readonly port: number;
  /** Relative share of traffic, ≥ 1. */
  readonly weight: number;
  /** The member's name in results and status when `host:port` is not enough (a PostgreSQL member adds `/dbname`). */
  readonly node?: string;
  /** The DNS name `host` (an address) was found under (`resolve = yes`): Host header and TLS name of an HTTP member. */
  readonly name?: string;
}

/** `host:port` (IPv6 in brackets), or the spec's own node. */
export function nodeOf(spec: Pick<MemberSpec, 'host' | 'port' | 'node'>): string {
  return spec.node ?? `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
}

/**
 * One upstream of a cluster and its running state. No protocol here: the client layer counts
 * requests in and out, `health.ts` writes the ejection and check fields.
 */
export class Member implements MemberSpec {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** `host:port` (IPv6 in brackets): the `node` of a Result and the key in status views. */
  readonly node: string;
  readonly name: string | undefined;
  /** The spec it was made from (a DB member's database and credentials ride along). */
  readonly spec: MemberSpec;

  /** Requests sent and not yet answered (least-connections and random-of-two read it). */
  inFlight = 0;
  /** Exchanges started, and those that ended in failure, since start. */
  requests = 0;
  failures = 0;
  /** Failures in a row; any success resets it. */
  consecutiveFailures = 0;
  /** Ejections in a row without a success in between: the exponent of the next ejection period. */
  ejections = 0;
  /** All ejections since start, for status. */
  totalEjections = 0;
  /** Clock time until which the member is ejected; 0 = not ejected. */
  ejectedUntil = 0;
  /** Set by active checks after `unhealthy_threshold` failed probes; cleared after `healthy_threshold` good ones. */
  activeDown = false;
  /** Active probe results in a row: positive = successes, negative = failures. */
  probeStreak = 0;
  /**
   * Clock time its slow start counts from: when it came back (an ejection's end, an active check
   * bringing it up) or was added. -Infinity for the members a cluster starts with: they start at full weight.
   */
  warmFrom = -Infinity;
  /** The weight balancers use now: `weight`, or less while the member warms up (`slow.ts`). */
  share: number;
  readonly latency = new LatencyRing();

  constructor(spec: MemberSpec) {
    this.host = spec.host;
    this.port = spec.port;
    this.weight = spec.weight;
    this.share = spec.weight;
    this.node = nodeOf(spec);
    this.name = spec.name;
    this.spec = spec;
  }

  /** Whether the balancer may choose it outside panic mode. */
  isAvailable(now: number): boolean {
    return !this.activeDown && now >= this.ejectedUntil;
  }

  state(now: number): MemberState {
    if (this.activeDown) return 'down';
    return now < this.ejectedUntil ? 'ejected' : 'healthy';
  }
}
