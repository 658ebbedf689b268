import type { Strategy } from '../config/cluster-keys.js';
import type { Member } from './member.js';

/**
 * Balancing strategies. They weigh members by `share`, which is `weight` except while a member warms
 * up (slow start, `slow.ts`). A balancer only orders a non-empty candidate list; which members are
 * candidates (healthy ones, or all of them in panic mode) is {@link selectCandidates}' job, so every
 * strategy gets panic mode and failover exclusion the same way.
 */

export { STRATEGIES, STRATEGY_ALIASES, type Strategy } from '../config/cluster-keys.js';

export interface Balancer {
  /** One of `candidates`, which must not be empty. */
  pick(candidates: readonly Member[]): Member;
  /** Drop what it keeps about a member that left the cluster (DNS). */
  forget?(member: Member): void;
}

/** A uniform random number in [0, 1); injected in tests for reproducible runs. */
export type Random = () => number;

export function createBalancer(strategy: Strategy, random: Random = Math.random): Balancer {
  switch (strategy) {
    case 'weighted_round_robin':
      return new SmoothWeightedRoundRobin();
    case 'least_connections':
      return new LeastConnections();
    case 'random_of_two':
      return new RandomOfTwo(random);
  }
}

/**
 * nginx's smooth weighted round-robin: each pick adds every candidate's weight to its running score,
 * takes the highest and subtracts the total from it. Weights 5,1,1 give `a a b a c a a`, not
 * `a a a a a b c`, so a heavy member never takes a burst. Members outside the candidate list keep
 * their score, which stays bounded, so a member that returns after an outage re-enters the rotation
 * at once instead of being starved or flooded.
 */
export class SmoothWeightedRoundRobin implements Balancer {
  readonly #score = new Map<Member, number>();

  pick(candidates: readonly Member[]): Member {
    let total = 0;
    let best: Member | undefined;
    let bestScore = -Infinity;
    for (const m of candidates) {
      const score = (this.#score.get(m) ?? 0) + m.share;
      this.#score.set(m, score);
      total += m.share;
      if (score > bestScore) {
        best = m;
        bestScore = score;
      }
    }
    this.#score.set(best!, bestScore - total);
    return best!;
  }

  forget(member: Member): void {
    this.#score.delete(member);
  }
}

/** Requests in flight per unit of weight: the load measure both connection-aware strategies share. */
function load(m: Member): number {
  return m.inFlight / m.share;
}

/**
 * Fewest requests in flight per unit of weight. Ties — common when traffic is light and everything
 * is idle — go round-robin by weight (as nginx's `least_conn` does), or sequential calls would all
 * land on the first member.
 */
export class LeastConnections implements Balancer {
  readonly #ties = new SmoothWeightedRoundRobin();

  pick(candidates: readonly Member[]): Member {
    let min = Infinity;
    for (const m of candidates) min = Math.min(min, load(m));
    const ties = candidates.filter((m) => load(m) === min);
    return ties.length === 1 ? ties[0]! : this.#ties.pick(ties);
  }

  forget(member: Member): void {
    this.#ties.forget(member);
  }
}

/**
 * "Power of two choices": two distinct members drawn at random in proportion to weight, the less
 * loaded one wins. Nearly as good as least-connections at O(1), and without its herd behaviour when
 * many workers see the same counts.
 */
export class RandomOfTwo implements Balancer {
  constructor(readonly random: Random) {}

  pick(candidates: readonly Member[]): Member {
    if (candidates.length === 1) return candidates[0]!;
    const a = this.#draw(candidates, undefined);
    const b = this.#draw(candidates, a);
    return load(b) < load(a) ? b : a;
  }

  #draw(candidates: readonly Member[], skip: Member | undefined): Member {
    let total = 0;
    for (const m of candidates) if (m !== skip) total += m.share;
    let r = this.random() * total;
    for (const m of candidates) {
      if (m === skip) continue;
      r -= m.share;
      if (r < 0) return m;
    }
    // Floating point can leave r at a hair above 0 after the last member.
    for (let i = candidates.length - 1; ; i--) if (candidates[i] !== skip) return candidates[i]!;
  }
}

/** The members a pick may choose from, and whether that needed panic mode. */
export interface Candidates {
  readonly members: Member[];
  /** True when no member outside `tried` is available, so ejected and down ones are used too. */
  readonly panic: boolean;
}

/**
 * Available members not yet tried by this call; when none is left, every member not yet tried
 * (panic mode). The list may be `members` itself: treat it as read-only. Ejecting all members would turn a partial outage into a total one, so health state
 * only steers traffic, never stops it.
 */
export function selectCandidates(members: readonly Member[], tried: ReadonlySet<Member> | undefined, now: number): Candidates {
  // The common case — nothing tried yet, everyone available — allocates nothing.
  if (!tried || tried.size === 0) {
    let all = true;
    for (const m of members) {
      if (!m.isAvailable(now)) {
        all = false;
        break;
      }
    }
    if (all) return { members: members as Member[], panic: false };
  }
  const fresh = tried && tried.size > 0 ? members.filter((m) => !tried.has(m)) : members.slice();
  const available = fresh.filter((m) => m.isAvailable(now));
  return available.length > 0 ? { members: available, panic: false } : { members: fresh, panic: fresh.length > 0 };
}
