/**
 * Route handler argument types, computed from the rule string at compile time (types only: nothing
 * here exists at run time). `'/item/<int:id>'` gives `{ id: number }`; see docs/typescript.md.
 */

/** The type a rule converter gives: `<int:n>` and `<float:x>` numbers, `<name>` and `<path:p>` strings. */
type Converted<K extends string> = K extends 'int' | 'float' ? number : string;

type ParamOf<P extends string> = P extends `${infer K}:${infer N}` ? { [_ in N]: Converted<K> } : { [_ in P]: string };

type Collect<S extends string> = S extends `${string}<${infer P}>${infer Rest}` ? ParamOf<P> & Collect<Rest> : {};

/** Flattens an intersection so editors and error messages show one object type. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** Converters a rule may use; any other is SKT_APP_RULE at run time and a compile error here. */
type KnownConverter = 'int' | 'float' | 'path' | 'string';

type BadConverter<S extends string> = S extends `${string}<${infer P}>${infer Rest}`
  ? P extends `${infer K}:${string}`
    ? K extends KnownConverter
      ? BadConverter<Rest>
      : K
    : BadConverter<Rest>
  : never;

/**
 * The path parameters of a rule: `RuleParams<'/a/<int:id>/<path:rest>'>` is `{ id: number; rest: string }`.
 * A rule that is not a literal type (built at run time) gives `Record<string, unknown>`.
 */
export type RuleParams<R extends string> = string extends R ? Record<string, unknown> : Flat<Collect<R>>;

/** Names from a route's `params` option (positional RPC parameters): present, of unknown type. */
export type NamedParams<P extends readonly string[]> = { [K in P[number]]: unknown };

/**
 * What a handler's `args` are when its parameter has no type annotation: the rule's path
 * parameters and the `params` option's names. Query and form fields are not in it (a misspelt
 * name must not compile); declare them by annotating `args` (see {@link Fields}).
 */
export type RouteArgs<R extends string, P extends readonly string[] = []> = Flat<RuleParams<R> & NamedParams<P>>;

/**
 * Any bound argument: annotate `args: Fields` to read fields the rule does not declare. Query and
 * urlencoded fields are strings (arrays when repeated), multipart ones strings or uploads, JSON
 * members any JSON value; Skitai does not check a declared field type against the request.
 */
export type Fields = Record<string, unknown>;

/** Path parameters whose type in the handler's annotation cannot hold what the rule gives. */
type Mismatch<W, F> = { [K in keyof W & keyof F]-?: W[K] extends F[K] ? never : K }[keyof W & keyof F];

type MismatchMessage<W, K extends keyof W> = K extends string
  ? `the rule gives "${K}" a ${W[K] extends number ? 'number' : 'string'}; the handler's args type must accept it`
  : never;

/**
 * The rule parameter's type as a compile error: a converter the router does not know, or a handler
 * that annotates a path parameter with a type the rule does not give (`<int:id>` with `id: string`).
 * `unknown` (no constraint) when the rule and the handler agree.
 */
export type RuleCheck<R extends string, F> = [BadConverter<R>] extends [never]
  ? [Mismatch<RuleParams<R>, F>] extends [never]
    ? unknown
    : { readonly error: MismatchMessage<RuleParams<R>, Mismatch<RuleParams<R>, F>> }
  : { readonly error: `unknown converter <${BadConverter<R>}:…>: use int, float, path or string` };
