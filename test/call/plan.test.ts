import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CallAbort, Deadline, type Cancellable } from '../../src/call/deadline.js';
import type { Sink } from '../../src/call/gather.js';
import type { CancelScope, Done, Outcome } from '../../src/call/outcome.js';
import { failover, fanOut, type Route, type Rule } from '../../src/call/plan.js';
import { httpMayRetry, pgMayRetry } from '../../src/call/retry.js';
import { Result } from '../../src/call/result.js';
import { Status } from '../../src/call/status.js';
import { Cluster } from '../../src/cluster/cluster.js';
import type { Member } from '../../src/cluster/member.js';
import { parseClusterOptions } from '../../src/cluster/options.js';
import { clusterConfig } from '../cluster/helpers.js';
import { manualClock, type ManualClock } from '../support/clock.js';

/**
 * The one failover and fan-out plan, over a transport the test answers by hand and the test's
 * clock: which member is asked, when another is, what the budget allows, when a hedge goes out and
 * which attempt is cancelled — exactly, without sockets or sleeps. (The HTTP and PostgreSQL
 * transports under the same plan are tested against real members in test/integration and test/db.)
 */

interface Flight {
  readonly node: string;
  readonly done: Done<Result>;
  cancelled: unknown;
}

/** Reports once, like a real transport: a cancel after the answer is ignored. */
function once(done: Done<Result>): Done<Result> & { reported: boolean } {
  const f = Object.assign((o: Outcome<Result>) => {
    if (f.reported) return;
    f.reported = true;
    done(o);
  }, { reported: false });
  return f;
}

function route(clock: ManualClock, values: Record<string, string> = {}) {
  const cluster = new Cluster(parseClusterOptions(clusterConfig({ members: '127.0.0.1:5001, 127.0.0.1:5002, 127.0.0.1:5003', ...values })), { clock });
  const flights: Flight[] = [];
  const r: Route<string, string, Result> = {
    cluster,
    clock,
    transport: {
      send(target: string, _req: string, cancel: CancelScope, report: Done<Result>): void {
        const done = once(report);
        const flight: Flight = { node: target, done, cancelled: undefined };
        const handle: Cancellable = {
          cancel(reason) {
            if (done.reported) return;
            flight.cancelled = reason;
            const kind = reason instanceof CallAbort ? reason.kind : 'cancel';
            done({ result: Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `cancelled (${kind})`, target), sent: true, health: kind === 'cancel' ? 'cancelled' : 'failure' });
          },
        };
        cancel.add(handle);
        flights.push(flight);
      },
    },
    target: (m: Member) => m.node,
    refused: (why, node) => Result.failure(Status.NETERR, why === 'breaker' ? 'SKT_CLUSTER_BREAKER_OPEN' : 'SKT_CLIENT_NETWORK', why, node),
  };
  return { route: r, cluster, flights };
}

const answer = (f: Flight, code = 200): void => f.done({ result: new Result({ status: Status.NORMAL, code, msg: 'OK', node: f.node, data: f.node }), sent: true, health: code >= 500 ? 'failure' : 'success' });
const refuse = (f: Flight): void => f.done({ result: Result.failure(Status.NETERR, 'SKT_CLIENT_CONNECT', 'refused', f.node), sent: false, health: 'failure' });
const lose = (f: Flight): void => f.done({ result: Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', 'reset', f.node), sent: true, health: 'failure' });

function sink(): Sink<Result> & { got: Result[] } {
  const got: Result[] = [];
  return { got, arrive: (_i, r) => void got.push(r) };
}

const rule = (hedge = 0, retryable = true): Rule<string, Result> => ({
  mayRetry: (o: Outcome<Result>) => httpMayRetry(o, { replayable: true, retryable }, false),
  hedgeDelay: () => hedge,
});

describe('failover', () => {
  test('one member answers: one attempt, no timer', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock);
    const s = sink();
    failover(r, rule(), 'req', new Deadline(clock), s);
    assert.equal(flights.length, 1);
    assert.equal(clock.pending, 0);
    answer(flights[0]!);
    assert.deepEqual(s.got.map((x) => x.data), [flights[0]!.node]);
  });

  test('refused: the next member; lost mid-request: another only when the request may run twice; a 5xx is an answer', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock);
    const s = sink();
    failover(r, rule(0, false), 'post', new Deadline(clock), s);
    refuse(flights[0]!);
    assert.equal(flights.length, 2, 'never arrived: a POST may go elsewhere');
    lose(flights[1]!);
    assert.equal(flights.length, 2, 'may have arrived: a POST is not sent again');
    assert.equal(s.got[0]!.code, 'SKT_CLIENT_NETWORK');
    const t = sink();
    failover(r, rule(), 'get', new Deadline(clock), t);
    lose(flights[2]!);
    assert.equal(flights.length, 4, 'an idempotent request is');
    answer(flights[3]!, 503);
    assert.equal(t.got[0]!.code, 503, 'any answer ends the call');
    assert.equal(new Set(flights.slice(2).map((f) => f.node)).size, 2, 'a different member');
  });

  test('no member twice; then the last failure is the result', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock, { retry_budget_min: '100' });
    const s = sink();
    failover(r, rule(), 'get', new Deadline(clock), s);
    for (let i = 0; i < 3; i++) refuse(flights[i]!);
    assert.equal(flights.length, 3);
    assert.equal(new Set(flights.map((f) => f.node)).size, 3);
    assert.deepEqual([s.got.length, s.got[0]!.code], [1, 'SKT_CLIENT_CONNECT']);
  });

  test('the retry budget caps failovers', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock, { retry_budget: '50', retry_budget_min: '0' });
    // Half a retry per first attempt in the 10 s window.
    failover(r, rule(), 'get', new Deadline(clock), sink());
    refuse(flights[0]!);
    assert.equal(flights.length, 2, '0 retries of 0.5 allowed: a failover');
    answer(flights[1]!);
    const second = sink();
    failover(r, rule(), 'get', new Deadline(clock), second);
    refuse(flights[2]!);
    assert.equal(flights.length, 3, '1 retry of 1.0 allowed: spent');
    assert.equal(second.got[0]!.code, 'SKT_CLIENT_CONNECT', 'the refusal is the result');
    clock.advance(10_001); // the window moves on
    failover(r, rule(), 'get', new Deadline(clock), sink());
    refuse(flights[3]!);
    assert.equal(flights.length, 5, 'a fresh window: a failover again');
  });

  test('which failure is the result: a later TIMEOUT says more than an earlier refusal; a bare "cancelled" does not', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock);
    const timedOut = sink();
    failover(r, rule(), 'get', new Deadline(clock), timedOut);
    refuse(flights[0]!);
    flights[1]!.done({ result: Result.failure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', 'no free connection', flights[1]!.node), sent: false, health: 'cancelled' });
    assert.equal(timedOut.got[0]!.code, 'SKT_DB_TIMEOUT');
    const closed = sink();
    failover(r, rule(), 'get', new Deadline(clock), closed);
    refuse(flights[2]!);
    flights[3]!.done({ result: Result.failure(Status.NETERR, 'SKT_CLIENT_CLOSED', 'closed', flights[3]!.node), sent: true, health: 'cancelled' });
    assert.equal(closed.got[0]!.code, 'SKT_CLIENT_CONNECT', 'the refusal, not "closed"');
  });

  test('nothing is retried once the call\'s deadline has cancelled it', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock);
    const d = new Deadline(clock);
    const s = sink();
    failover(r, rule(), 'get', d, s);
    d.cancel(new CallAbort('deadline'));
    assert.equal(flights.length, 1);
    assert.equal(s.got.length, 1);
  });
});

describe('hedging', () => {
  test('at hedge_delay exactly a second member is asked; the first good answer wins and the other is cancelled alone', () => {
    const clock = manualClock();
    const { route: r, cluster, flights } = route(clock, { retry_budget_min: '100' });
    const d = new Deadline(clock);
    const s = sink();
    failover(r, rule(40), 'get', d, s);
    clock.advance(39);
    assert.equal(flights.length, 1, 'not before 40 ms');
    clock.advance(1);
    assert.equal(flights.length, 2, 'hedged at 40 ms');
    assert.notEqual(flights[1]!.node, flights[0]!.node);
    answer(flights[1]!);
    assert.equal(s.got[0]!.data, flights[1]!.node);
    assert.ok(flights[0]!.cancelled instanceof CallAbort && flights[0]!.cancelled.kind === 'cancel', 'the slow one is cancelled');
    assert.equal(d.cancelled, false, 'the call\'s deadline is untouched');
    assert.equal(cluster.status().members.reduce((n, m) => n + m.failures, 0), 0, 'a lost hedge is not a failure');
    assert.equal(cluster.status().members.reduce((n, m) => n + m.inFlight, 0), 0, 'every lease returned');
    assert.equal(clock.pending, 0);
  });

  test('an answer before hedge_delay: no hedge, and the timer is gone', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock);
    const s = sink();
    failover(r, rule(40), 'get', new Deadline(clock), s);
    clock.advance(10);
    answer(flights[0]!);
    clock.advance(100);
    assert.equal(flights.length, 1);
    assert.equal(clock.pending, 0);
  });

  test('requests that may not run twice are never hedged', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock);
    const noHedge: Rule<string, Result> = { mayRetry: () => false, hedgeDelay: () => 0 };
    failover(r, noHedge, 'post', new Deadline(clock), sink());
    clock.advance(1000);
    assert.equal(flights.length, 1);
  });
});

describe('fanOut', () => {
  test('every live member once, results by member order; an ejected member is skipped', () => {
    const clock = manualClock();
    const { route: r, flights } = route(clock, { eject_failures: '1' });
    const s = sink();
    const slots = fanOut(r, 'get', new Deadline(clock), s);
    assert.equal(slots.length, 3);
    lose(flights[1]!);
    answer(flights[0]!);
    answer(flights[2]!);
    assert.equal(s.got.length, 3);
    const again = fanOut(r, 'get', new Deadline(clock), sink());
    assert.equal(again.length, 2, 'the member that failed is ejected');
  });
});

describe('retry rules, side by side', () => {
  const o = (status: Status, sent: boolean): Outcome<Result> => ({ result: Result.failure(status as Status.NETERR, 'SKT_CLIENT_NETWORK', '', 'n'), sent, health: 'failure' });
  test('HTTP: not arrived -> yes; NETERR -> only idempotent; TIMEOUT -> only with retry_timeouts; streams never', () => {
    assert.equal(httpMayRetry(o(Status.NETERR, false), { replayable: true, retryable: false }, false), true);
    assert.equal(httpMayRetry(o(Status.NETERR, true), { replayable: true, retryable: false }, false), false);
    assert.equal(httpMayRetry(o(Status.NETERR, true), { replayable: true, retryable: true }, false), true);
    assert.equal(httpMayRetry(o(Status.TIMEOUT, true), { replayable: true, retryable: true }, false), false);
    assert.equal(httpMayRetry(o(Status.TIMEOUT, true), { replayable: true, retryable: true }, true), true);
    assert.equal(httpMayRetry(o(Status.NETERR, false), { replayable: false, retryable: true }, true), false);
  });
  test('SQL: not run -> yes; lost connection -> only safe; TIMEOUT never', () => {
    assert.equal(pgMayRetry(o(Status.NETERR, false), false), true);
    assert.equal(pgMayRetry(o(Status.NETERR, true), false), false);
    assert.equal(pgMayRetry(o(Status.NETERR, true), true), true);
    assert.equal(pgMayRetry(o(Status.TIMEOUT, true), true), false);
  });
});
