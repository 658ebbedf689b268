import { SkitaiError } from '../errors.js';
import type { Slot } from './call.js';
import { exchange } from './exchange.js';
import type { Prepared } from './request.js';
import { Result } from './result.js';
import { Status } from './status.js';
import type { Upstream } from './upstream.js';

/**
 * `was.map`: the same request to every live member at once (every member in panic mode), one
 * Result each, in member order. No retries: a member's failure is its Result. Each exchange is
 * admitted by the breaker separately, so when it is half-open only the probes go out.
 */
export function sendMap(up: Upstream, prepared: Prepared, signal: AbortSignal): Slot[] {
  const cluster = up.cluster;
  const members = cluster.live();
  if (!prepared.replayable && members.length > 1) {
    throw new SkitaiError('SKT_CLIENT_USAGE', 'a stream body can be sent once; map needs a string, Buffer or object body');
  }
  return members.map((member) => {
    const lease = cluster.acquire(member);
    if (!lease) {
      const open = Result.failure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${cluster.name} is open; the request was not sent`, member.node);
      return { node: () => member.node, done: Promise.resolve(open) };
    }
    const done = exchange(up.endpoint(member), prepared, signal).then((attempt) => {
      cluster.release(lease, up.outcomeOf(attempt));
      return attempt.result;
    });
    return { node: () => member.node, done };
  });
}
