import { createRequire } from 'node:module';
import type Pg from 'pg';

let lib: typeof Pg | undefined;

/** pg, loaded when the first database pool or probe is made: sites without a database skip it. */
export function pg(): typeof Pg {
  return (lib ??= createRequire(import.meta.url)('pg') as typeof Pg);
}
