import type { Call } from './call.js';
import type { Result, Results } from '../call/result.js';

/**
 * The RPC face of a call: `s.search(kw)` sends method `search`, `s.a.b(x)` sends `a.b`, and each
 * returns the call again, so `await was.lb('@c/rpc').search(kw).getwait(2)` reads in one line.
 *
 * Names the call object itself has (`getwait`, `getswait`, `invoke`, and Object's own such as
 * `toString`) are not RPC methods; nor are `then`, `catch`, `finally` — or `await s` and
 * `return s` from an async function would fire a call named "then" — nor `toJSON` and `inspect`,
 * which JSON.stringify and console.log look up. Call such methods with `s.invoke('then', x)`.
 *
 * Types (run time is the same for both): untyped, any name at one or two dotted levels is a method
 * (`s.search(kw)`, `s.system.listMethods()`) returning the {@link Call}; deeper names need
 * `s.invoke('a.b.c')` or a typed interface. Typed, `was.map<Api>(…)` offers exactly the methods of
 * `Api` (nested objects are dotted namespaces) and `getwait`/`getswait` give their return types.
 */

/** Names a typed RPC interface cannot use as methods on the call object (use `invoke` for them). */
export type ReservedRpcName = keyof Call | 'then' | 'catch' | 'finally' | 'toJSON' | 'inspect' | 'constructor' | 'toString' | 'valueOf';

/** An untyped RPC method: callable, and one more dotted level (`s.system.listMethods()`). */
export type RpcMethod = ((...params: unknown[]) => Call) & { readonly [name: string]: (...params: unknown[]) => Call };

/** A Call whose unknown properties are RPC methods. `then` is typed away so `await` treats it as a plain value. */
export type RpcCall = Call & { readonly then?: undefined } & { readonly [method: string]: RpcMethod };

/** A typed call once its method was called: the answers' `data` has the method's return type. */
export interface RpcReply<T> {
  /** The one Result (lb/rest); see {@link Call.getwait}. */
  getwait(timeout?: number): Promise<Result<T>>;
  /** Every Result, in member order; see {@link Call.getswait}. */
  getswait(timeout?: number): Promise<Results<T>>;
  readonly then?: undefined;
}

/** The methods of an RPC interface as the call object offers them (nested objects are dotted namespaces). */
export type RpcMethods<Api> = {
  readonly [K in keyof Api & string as K extends ReservedRpcName ? never : K]: NonNullable<Api[K]> extends (...params: infer A) => infer R
    ? (...params: A) => RpcReply<Awaited<R>>
    : NonNullable<Api[K]> extends object
      ? RpcMethods<NonNullable<Api[K]>>
      : never;
};

/**
 * A call typed by an interface of the remote methods: `was.map<SearchApi>('@mypypi/pypi')`.
 * Wrong method names and argument types do not compile.
 */
export type RpcClient<Api> = Call & { readonly then?: undefined } & RpcMethods<Api>;

const NOT_METHODS = new Set(['then', 'catch', 'finally', 'toJSON', 'inspect', 'asymmetricMatch', 'nodeType', '$$typeof']);

export function rpcProxy(call: Call): RpcCall {
  const method = (name: string): RpcMethod =>
    new Proxy(function rpcMethod() {} as unknown as RpcMethod, {
      get(_, prop) {
        if (typeof prop === 'symbol' || NOT_METHODS.has(prop)) return undefined;
        return method(`${name}.${prop}`);
      },
      apply(_, __, params: unknown[]) {
        call.invoke(name, ...params);
        return proxy;
      },
    });
  const proxy = new Proxy(call, {
    get(target, prop) {
      if (typeof prop === 'symbol' || prop in target) {
        const value: unknown = Reflect.get(target, prop, target);
        // Bound to the real object: its #private fields are not reachable through the proxy.
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return NOT_METHODS.has(prop) ? undefined : method(prop);
    },
  }) as unknown as RpcCall;
  return proxy;
}
