import { SkitaiError } from '../errors.js';
import type { Abort } from './abort.js';
import type { Sink, Slot } from './call.js';
import { send } from './exchange.js';
import type { Prepared } from './request.js';
import { Result } from './result.js';
import { Status } from './status.js';
import type { Upstream } from './upstream.js';

/**
 * `was.map`: the same request to every live member at once (every member in panic mode), one
 * Result each, in member order, to `sink`. No retries: a member's failure is its Result. Each
 * exchange is admitted by the breaker separately, so when it is half-open only the probes go out.
 */
export function sendMap(up: Upstream, prepared: Prepared, abort: Abort, sink: Sink): Slot[] {
  const cluster = up.cluster;
  const members = cluster.live();
  if (!prepared.replayable && members.length > 1) {
    throw new SkitaiError('SKT_CLIENT_USAGE', 'a stream body can be sent once; map needs a string, Buffer or object body');
  }
  const slots: Slot[] = new Array<Slot>(members.length);
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    slots[i] = { node: member.node };
    const lease = cluster.acquire(member);
    if (!lease) {
      sink.arrive(i, Result.failure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${cluster.name} is open; the request was not sent`, member.node));
      continue;
    }
    send(up.endpoint(member), prepared, abort, (attempt) => {
      cluster.release(lease, up.outcomeOf(attempt));
      sink.arrive(i, attempt.result);
    });
  }
  return slots;
}
