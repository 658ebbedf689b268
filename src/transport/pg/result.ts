import { Result } from '../../call/result.js';
import { Status } from '../../call/status.js';
import type { ErrorCode } from '../../errors.js';

/** One row as an object keyed by column name (values as node-postgres parses them: int8 and numeric are strings). */
export type Row = Record<string, unknown>;

/** A column of the answer (Skitai's `description`). */
export interface DbField {
  readonly name: string;
  /** PostgreSQL type OID (`23` int4, `25` text…). */
  readonly dataTypeID: number;
}

export interface DbResultInit {
  status: Status;
  code: number | ErrorCode;
  msg: string;
  node: string;
  rows?: Row[] | undefined;
  fields?: readonly DbField[] | undefined;
  rowCount?: number | null | undefined;
  command?: string | undefined;
  error?: Error | undefined;
  elapsed?: number | undefined;
}

/**
 * What one PostgreSQL member answered. The same shape as an HTTP Result, so `Results`, `cache()`
 * and filters work alike:
 * - NORMAL, code 200, msg `OK`: the statement ran; `data` holds the rows (`[]` for none).
 * - NORMAL, code 500: the server refused the statement (syntax, constraint…); `msg` is the
 *   server's message, `sqlstate` its SQLSTATE, `error` the driver's DatabaseError, `data` null.
 * - TIMEOUT / NETERR: no answer; `code` is a stable reason (`SKT_DB_TIMEOUT`, `SKT_DB_CONNECT`…).
 */
export class DbResult extends Result<Row[] | null> {
  /** The columns of the answer; `[]` when there was none. */
  fields: readonly DbField[];
  /** Rows returned or affected (`UPDATE 3` -> 3); null when the statement reports none. */
  rowCount: number | null;
  /** The statement's command tag: `SELECT`, `INSERT`, `UPDATE`… */
  command: string | undefined;
  /** SQLSTATE of a server error (`42601` syntax error, `23505` unique violation…), else undefined. */
  sqlstate: string | undefined;

  constructor(init: DbResultInit) {
    super({ status: init.status, code: init.code, msg: init.msg, node: init.node, data: init.rows ?? null, error: init.error, elapsed: init.elapsed });
    this.fields = init.fields ?? [];
    this.rowCount = init.rowCount ?? null;
    this.command = init.command;
    this.sqlstate = sqlstateOf(init.error);
  }

  /** Skitai's name for `fields`. */
  get description(): readonly DbField[] {
    return this.fields;
  }

  /** A TIMEOUT, NETERR or UNSENT result. */
  static dbFailure(status: Status.TIMEOUT | Status.NETERR | Status.UNSENT, code: ErrorCode, msg: string, node: string, error?: Error): DbResult {
    return new DbResult({ status, code, msg, node, error });
  }

  override cloneFromCache(): DbResult {
    const copy = super.cloneFromCache() as unknown as DbResult;
    Object.setPrototypeOf(copy, DbResult.prototype);
    return copy;
  }
}

/**
 * Every member's DbResult of a dmap call (one for dlb/db), in member order: an Array (so `filter`,
 * `map`, `for…of` work and give DbResults) with `cache(seconds)`, kept only when EVERY member
 * answered NORMAL/200. At run time it is the client layer's `Results`.
 */
export interface DbResults extends Array<DbResult> {
  cache(seconds?: number): void;
}

/** The SQLSTATE of a server error (five characters), else undefined. */
export function sqlstateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
