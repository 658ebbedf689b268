import type { Member } from './member.js';

/**
 * Slow start (HAProxy `slowstart`, Envoy's slow-start window): a member that comes back or is added
 * takes a share of traffic that grows linearly with the time since `warmFrom`, reaching its weight
 * after `windowMs`. A member that was away has cold caches, connection pools and JITs, and a
 * restarted process may still be loading; full traffic at once is what knocks it over again.
 */

/**
 * The floor of the share, as a fraction of the weight: at 0 a member just back would never be chosen
 * by weighted round-robin and the warm-up could not be observed; 1 % is "almost nothing".
 */
export const MIN_SHARE = 0.01;

/** `member`'s weight for a pick at `now`: linear from MIN_SHARE × weight at `warmFrom` to weight after `windowMs`. */
export function warmShare(member: Member, now: number, windowMs: number): number {
  const elapsed = now - member.warmFrom;
  if (elapsed >= windowMs) return member.weight;
  return member.weight * Math.max(MIN_SHARE, elapsed / windowMs);
}
