import type { Call } from './call.js';

/**
 * The RPC face of a call: `s.search(kw)` sends method `search`, `s.a.b(x)` sends `a.b`, and each
 * returns the call again, so `await was.lb('@c/rpc').search(kw).getwait(2)` reads in one line.
 *
 * Names the call object itself has (`getwait`, `getswait`, `invoke`, and Object's own such as
 * `toString`) are not RPC methods; nor are `then`, `catch`, `finally` — or `await s` and
 * `return s` from an async function would fire a call named "then" — nor `toJSON` and `inspect`,
 * which JSON.stringify and console.log look up. Call such methods with `s.invoke('then', x)`.
 */

/** A callable RPC method name; property access extends the dotted name. */
export type RpcMethod = ((...params: unknown[]) => RpcCall) & { readonly [name: string]: RpcMethod };

/** A Call whose unknown properties are RPC methods. `then` is typed away so `await` treats it as a plain value. */
export type RpcCall = Call & { readonly then?: undefined } & { readonly [method: string]: RpcMethod };

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
