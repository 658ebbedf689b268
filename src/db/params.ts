import { createRequire } from 'node:module';
import { SkitaiError } from '../errors.js';

type PrepareValue = (value: unknown) => unknown;
let prepareLib: PrepareValue | undefined;
/**
 * node-postgres's own conversion (Date, Buffer, arrays, objects as JSON, toPostgres()); not in its
 * ESM entry. Loaded by the first query, like pg itself (sites without a database skip both).
 */
function prepareValue(): PrepareValue {
  return (prepareLib ??= (createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: PrepareValue }).prepareValue);
}

/**
 * `params` converted as node-postgres would convert them on the wire, once per call. A value it
 * cannot convert (a BigInt or a cycle inside an object, a throwing `toPostgres()`) is the caller's
 * mistake: SKT_DB_USAGE now, instead of an error inside the driver that reads like a lost connection
 * (which counted against the member's health and made `safe` dlb calls fail over).
 */
export function prepareParams(params: readonly unknown[]): unknown[] {
  const prepare = prepareValue();
  // A loop rather than `map()` with a closure: this runs on every call of a statement with params.
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) {
    try {
      out[i] = prepare(params[i]);
    } catch (err) {
      throw new SkitaiError('SKT_DB_USAGE', `parameter $${i + 1} cannot be sent to PostgreSQL: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}
