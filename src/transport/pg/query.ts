/**
 * What a member pool connects to and runs, and what it reports: the plain types shared by the DB
 * call path. Kept apart from `pool.ts` so the public declarations never reach pg's types.
 */

/** Where one pool connects. `password` is a secret. */
export interface DbTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | undefined;
  /** `host:port/dbname`, for results and messages. */
  readonly node: string;
}

/** One statement to run. */
export interface DbQuery {
  readonly text: string;
  readonly values: readonly unknown[] | undefined;
}

/**
 * A {@link DbQuery} as the call path makes one per call: a class, because V8 may pretenure an object
 * literal made per call, and a dead query in old space keeps its values alive through scavenges
 * (docs/performance.md, "SQL", fifth pass).
 */
export class Statement implements DbQuery {
  constructor(
    readonly text: string,
    readonly values: readonly unknown[] | undefined,
  ) {}
}

export interface PoolStatus {
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a free connection. */
  readonly waiting: number;
  /** Queries running now. */
  readonly running: number;
  /** Queries that found every connection busy and waited for one, since start. */
  readonly waits: number;
  /** Their time spent waiting, in seconds, since start. */
  readonly waitedSeconds: number;
}

/** Pool and timeout settings of one member's pool. Durations in MILLISECONDS. */
export interface DbPoolOptions {
  /** Connections per member per worker; more queries wait for a free one (within their deadline). */
  readonly maxConns: number;
  /** TCP connect + startup + authentication. */
  readonly connectTimeout: number;
  /** An idle connection is closed after this long. */
  readonly idleTimeout: number;
  /** Longest a query may run when the caller waits longer or not at all; it is then cancelled on the server. */
  readonly queryTimeout: number;
}
