// Compile-time assertions for the type tests: `expectType<Equal<A, B>>(true)` fails to compile
// unless A and B are the same type (not merely assignable).

/** True when A and B are identical types. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when given `true` for a `true` type. */
export function expectType<T extends true>(ok: T): T {
  return ok;
}
