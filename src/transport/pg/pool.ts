import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { CallAbort, type Cancellable } from '../../call/deadline.js';
import type { CancelScope, Transport } from '../../call/outcome.js';
import { Status } from '../../call/status.js';
import type { Logger } from '../../log/logger.js';
import { sendCancel } from './cancel.js';
import { Chain, type ChainNode } from './chain.js';
import { connectFailure, isConnectionLoss, queryFailure, success, type DbOutcome, type FailureContext } from './failure.js';
import type { DbPoolOptions, DbQuery, DbTarget, PoolStatus } from './query.js';
import { pg as pgLib } from './pg.js';
import { DbResult } from './result.js';
import { maskSecret } from './secret.js';

/** A pg.Client whose own connect timeout covers connect + authentication, so the POOL wait is bounded only by the call's deadline. */
function clientClass(connectTimeout: number): typeof pg.Client {
  return class TimedClient extends pgLib().Client {
    constructor(config?: pg.ClientConfig) {
      // pg-pool keeps the password non-enumerable (out of logs and dumps): a spread would drop it.
      const own = { ...config, connectionTimeoutMillis: connectTimeout };
      Object.defineProperty(own, 'password', { value: config?.password, enumerable: false, writable: true, configurable: true });
      super(own);
    }
  };
}

type Phase = 'waiting' | 'running' | 'done';

/**
 * One member's connections (a pg.Pool) and the query attempts on them. Each attempt reports
 * exactly once through its callback, and is cancellable through the call's Deadline:
 * - aborted while WAITING for a connection: reported at once; a connection that arrives later
 *   goes straight back to the pool (the wait counts against the caller's deadline);
 * - aborted while RUNNING: reported at once, and the server is asked to cancel the statement
 *   (CancelRequest for the backend). The connection is then destroyed instead of reused — a late
 *   cancel must never hit the next query on it — and if the server has not ended the statement
 *   within connect_timeout, the socket is cut.
 */
export class MemberPool {
  readonly #pool: pg.Pool;
  readonly #target: DbTarget;
  readonly #options: DbPoolOptions;
  readonly #ctx: FailureContext;
  /** Attempts not yet reported: waiting for a connection or running. */
  readonly #attempts = new Chain<Attempt>();
  /**
   * Attempts waiting for a slot, oldest first. They are handed to pg-pool only when a slot is free,
   * so one that gives up leaves no dead waiter in pg-pool's queue: thousands of those (a slow
   * query plus steady traffic) were handed a connection one after the other in ONE synchronous
   * chain when it freed, and overflowed the stack.
   */
  readonly #queue = new Chain<Attempt>();
  /** Attempts handed to pg-pool (connecting or holding a connection) and not yet released. */
  #inPool = 0;
  /** Attempts that found every connection taken and waited in the queue, and their time there (ms), since start. */
  #waits = 0;
  #waitedMs = 0;
  #closed = false;

  constructor(target: DbTarget, options: DbPoolOptions, logger?: Logger) {
    this.#target = target;
    this.#options = options;
    this.#ctx = { node: target.node, password: target.password, connectTimeout: options.connectTimeout };
    this.#pool = new (pgLib().Pool)({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      ...(target.password !== undefined ? { password: target.password } : {}),
      max: options.maxConns,
      idleTimeoutMillis: options.idleTimeout,
      // The server's own backstop: a statement outliving query_timeout (say this worker died) ends anyway.
      statement_timeout: options.queryTimeout + 1000,
      application_name: 'skitai',
      keepAlive: true,
      Client: clientClass(options.connectTimeout),
    });
    // An idle connection the server dropped (restart, kill): pg-pool removes it; say so, never crash.
    this.#pool.on('error', (err) => logger?.warn(`db ${target.node}: idle connection lost: ${maskSecret(err.message, target.password)}`));
  }

  get node(): string {
    return this.#target.node;
  }

  /** Whether any query is waiting for a connection or running. */
  get busy(): boolean {
    return this.#attempts.size > 0;
  }

  /** Run `query`; `done` gets the outcome exactly once, possibly synchronously after an abort. */
  run(query: DbQuery, cancel: CancelScope, done: (outcome: DbOutcome) => void): void {
    const attempt = new Attempt(this, query, done);
    if (this.#closed) {
      attempt.report(closedOutcome(this.#target.node));
      return;
    }
    cancel.add(attempt);
    if (attempt.phase === 'done') return;
    attempt.live = this.#attempts.add(attempt);
    if (this.#inPool < this.#options.maxConns && this.#queue.size === 0) {
      // A free slot and nobody ahead: straight to pg-pool, without a trip through the queue.
      this.#inPool++;
      this.#pool.connect(attempt.onConnect);
      return;
    }
    attempt.waiting = this.#queue.add(attempt);
    this.#waits++;
    this.#pump();
  }

  /** Hand waiting attempts to pg-pool while it has a free slot. */
  #pump(): void {
    while (!this.#closed && this.#inPool < this.#options.maxConns && this.#queue.size > 0) {
      const attempt = this.#queue.first()!;
      this.#queue.remove(attempt.waiting!);
      attempt.waiting = undefined;
      this.#waitedMs += performance.now() - attempt.started;
      this.#inPool++;
      this.#pool.connect(attempt.onConnect);
    }
  }

  /**
   * Internal (Attempt): a query ended on `client`, still usable. The oldest waiting attempt takes it
   * as it is (true), as pg-pool would hand it over, without the round trip through pg-pool's idle
   * list (its idle timer, events, listener swaps and a nextTick per query); false when nobody waits.
   */
  handOver(client: pg.PoolClient, release: (err?: Error | boolean) => void): boolean {
    if (this.#closed || this.#queue.size === 0) return false;
    const attempt = this.#queue.first()!;
    this.#queue.remove(attempt.waiting!);
    attempt.waiting = undefined;
    this.#waitedMs += performance.now() - attempt.started;
    attempt.connected(undefined, client, release);
    return true;
  }

  /** Internal (Attempt): its pg-pool slot is free again (connect failed, or the connection went back). */
  freed(): void {
    this.#inPool--;
    this.#pump();
  }

  /** Internal (Attempt): it has reported. */
  forget(attempt: Attempt): void {
    if (attempt.live) this.#attempts.remove(attempt.live);
    if (attempt.waiting) {
      // It gave up (deadline, cancel) while waiting: its wait counts too.
      this.#queue.remove(attempt.waiting);
      this.#waitedMs += performance.now() - attempt.started;
    }
    attempt.live = attempt.waiting = undefined;
  }

  get ctx(): FailureContext {
    return this.#ctx;
  }

  get options(): DbPoolOptions {
    return this.#options;
  }

  get target(): DbTarget {
    return this.#target;
  }

  status(): PoolStatus {
    let running = 0;
    for (const a of this.#attempts.toArray()) if (a.phase === 'running') running++;
    return {
      total: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#queue.size + this.#pool.waitingCount, running,
      waits: this.#waits, waitedSeconds: this.#waitedMs / 1000,
    };
  }

  /**
   * Refuse new attempts, let running ones finish for `graceMs`, then cancel them (on the server
   * too) and close every connection.
   */
  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // An ending pg.Pool hands no connection to waiters: those end now; running ones get the grace.
    for (const a of this.#attempts.toArray()) if (a.phase === 'waiting') a.cancel(new CallAbort('closed'));
    const deadline = Date.now() + graceMs;
    while (this.#attempts.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const a of this.#attempts.toArray()) a.cancel(new CallAbort('closed'));
    await this.#pool.end().catch(() => {});
  }
}

/** The PostgreSQL transport of the call plan (`call/plan.ts`): one statement on one member's pool. */
export const pgTransport: Transport<MemberPool, DbQuery, DbResult> = {
  send: (pool, query, cancel, done) => pool.run(query, cancel, done),
};

function ignore(): void {}

/**
 * Clients that carry the `ignore` error listener. pg-pool listens for errors only on idle clients, so
 * a connection lost while we hold it would be an uncaught 'error' event; the query's callback gets
 * the same error, so the listener only absorbs it. Added once per connection rather than added and
 * removed per query (EventEmitter bookkeeping on every call); while the client is idle, pg-pool's own
 * listener still sees the error and drops the connection.
 */
const guarded = new WeakSet<pg.PoolClient>();

/** Whether pg-pool would put `client` back in its idle list (it checks the same two flags) rather than close it. */
function reusable(client: pg.PoolClient): boolean {
  const c = client as pg.PoolClient & { _queryable?: boolean; _ending?: boolean };
  return c._queryable !== false && c._ending !== true;
}

function closedOutcome(node: string): DbOutcome {
  return { result: DbResult.dbFailure(Status.NETERR, 'SKT_DB_CLOSED', 'the database pools are closed (the worker is shutting down)', node), sent: false, health: 'cancelled' };
}

/** One query attempt on one member: waiting -> running -> done, reported once. */
class Attempt implements Cancellable {
  phase: Phase = 'waiting';
  /** Its place among the pool's attempts, and in the wait queue (MemberPool's bookkeeping). */
  live: ChainNode<Attempt> | undefined;
  waiting: ChainNode<Attempt> | undefined;
  readonly #pool: MemberPool;
  readonly #query: DbQuery;
  /** Dropped once called: pg's per-query objects (its config literal, which V8 may pretenure) reach this attempt through the result callback, and must not reach the call behind it. */
  #done: (outcome: DbOutcome) => void;
  /** When the call asked for it (performance.now()); also the start of its wait for a connection, if it waits. */
  readonly started = performance.now();
  #client: pg.PoolClient | undefined;
  #release: ((err?: Error | boolean) => void) | undefined;
  #cancelled = false;
  #killTimer: NodeJS.Timeout | undefined;
  /** pg-pool's connect callback (one closure per attempt, made here so the class keeps one shape). */
  readonly onConnect: (err: Error | undefined, client: pg.PoolClient | undefined, release: (err?: Error | boolean) => void) => void;
  readonly #onResult: (err: Error | null, res: pg.QueryResult) => void;

  constructor(pool: MemberPool, query: DbQuery, done: (outcome: DbOutcome) => void) {
    this.#pool = pool;
    this.#query = query;
    this.#done = done;
    this.onConnect = (err, client, release) => this.connected(err, client, release);
    this.#onResult = (err, res) => this.#finished(err, res);
  }

  report(outcome: DbOutcome): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.#pool.forget(this);
    const done = this.#done;
    this.#done = ignore;
    done(outcome);
  }

  connected(err: Error | undefined, client: pg.PoolClient | undefined, release: (err?: Error | boolean) => void): void {
    if (this.phase === 'done') {
      // Our caller gave up while we waited: hand the connection straight back.
      if (client) release();
      this.#pool.freed();
      return;
    }
    if (err || !client) {
      this.#pool.freed();
      this.report(connectFailure(err ?? new Error('no connection'), this.#pool.ctx, this.#elapsed()));
      return;
    }
    this.phase = 'running';
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on('error', ignore);
    }
    this.#client = client;
    this.#release = release;
    const { text, values } = this.#query;
    // Text and values as arguments, not a config object: pg copies a config object property by
    // property (cloneQueryConfig) on every query.
    client.query(text, values as unknown[], this.#onResult);
  }

  #finished(err: Error | null, res: pg.QueryResult): void {
    if (this.#killTimer) clearTimeout(this.#killTimer);
    // A connection we sent a cancel for is never reused; a broken one (no SQLSTATE) neither.
    const broken = err !== null && isConnectionLoss(err);
    const client = this.#client;
    const release = this.#release;
    this.#client = undefined;
    this.#release = undefined;
    if (this.#cancelled || broken || !client || !release) {
      release?.(true);
      this.#pool.freed();
    } else if (!reusable(client) || !this.#pool.handOver(client, release)) {
      release();
      this.#pool.freed();
    }
    if (this.phase === 'done') return;
    // Several statements (simple protocol) answer with one result each: the last one is the answer.
    const last = Array.isArray(res) ? (res[res.length - 1] as pg.QueryResult) : res;
    this.report(err ? queryFailure(err, this.#pool.ctx, this.#elapsed()) : success(this.#pool.ctx, last, this.#elapsed()));
  }

  /** Abort (the call's deadline, a lost race, shutdown). */
  cancel(reason: unknown): void {
    if (this.phase === 'done') return;
    const kind = reason instanceof CallAbort ? reason.kind : 'deadline';
    const node = this.#pool.node;
    const wasRunning = this.phase === 'running';
    // The call's own count when the deadline says it (its clock may be a test's), else what this attempt measured.
    const seconds = reason instanceof CallAbort && reason.seconds !== undefined ? reason.seconds : Math.round(this.#elapsed()) / 1000;
    let outcome: DbOutcome;
    if (kind === 'closed') outcome = closedOutcome(node);
    else if (kind === 'cancel') outcome = { result: DbResult.dbFailure(Status.NETERR, 'SKT_DB_NETWORK', `query to ${node} cancelled`, node), sent: wasRunning, health: 'cancelled' };
    else if (wasRunning) outcome = { result: DbResult.dbFailure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', `no answer from ${node} within ${seconds} s; the query was cancelled on the server`, node), sent: true, health: 'failure' };
    else outcome = { result: DbResult.dbFailure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', `no free connection to ${node} within ${seconds} s (all ${this.#pool.options.maxConns} busy, or connecting)`, node), sent: false, health: 'cancelled' };
    outcome.result.elapsed = this.#elapsed();
    this.report(outcome);
    if (wasRunning) this.#cancelOnServer();
  }

  #cancelOnServer(): void {
    const client = this.#client as (pg.PoolClient & { processID?: number | null; secretKey?: number | null }) | undefined;
    if (!client || this.#cancelled) return;
    this.#cancelled = true;
    const { host, port } = this.#pool.target;
    const limit = this.#pool.options.connectTimeout;
    if (typeof client.processID === 'number' && typeof client.secretKey === 'number') void sendCancel(host, port, client.processID, client.secretKey, limit);
    // A server that does not answer the cancel (hung, partitioned) must not hold the slot forever.
    this.#killTimer = setTimeout(() => {
      const stream = (client as unknown as { connection?: { stream?: { destroy(err?: Error): void } } }).connection?.stream;
      stream?.destroy(new Error('cancelled query did not end'));
    }, limit);
    this.#killTimer.unref();
  }

  #elapsed(): number {
    return performance.now() - this.started;
  }
}
