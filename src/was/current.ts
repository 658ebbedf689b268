/**
 * `was` for code Skitai did not call with one: a Node app mounted in `[routes:line]`
 * (`/legacy = ./server.js:app`) reaches the request's `was` through an AsyncLocalStorage scope that
 * the mount handler enters around the app, and only there (docs/mount.md).
 *
 * Cost: on Node 20 and 22 an AsyncLocalStorage in use makes Node run a hook for every promise and
 * async resource of the whole process (about 7 % of a simple app route, see http/faults.ts), not
 * only inside the scope. So the storage is switched off again whenever no mounted app has a
 * request in flight: a site whose mounts are idle pays nothing on its other routes. The price is
 * that `was` belongs to its request until the response is done; code still running after that (a
 * timer, an un-awaited promise) gets SKT_WAS_NO_REQUEST, whether or not another request keeps the
 * storage on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { SkitaiError } from '../errors.js';
import type { Was } from './was.js';

/** One request of a mounted app: its `was`, made on first use. */
export class WasScope {
  #was: Was | undefined;
  /** Set when the response is done: `was` is no longer this request's. */
  ended = false;

  constructor(
    readonly make: () => Was,
    /** `GET /legacy/x`, for the error raised after the end. */
    readonly describe: () => string,
  ) {}

  get was(): Was {
    this.#was ??= this.make();
    return this.#was;
  }
}

/** What every copy of Skitai loaded in one process shares (an app may import another copy's `was`). */
interface Shared {
  readonly storage: AsyncLocalStorage<WasScope>;
  /** Requests of mounted apps in flight: the storage is on while this is above 0. */
  active: number;
}

const KEY = Symbol.for('skitai.was.scope');
const shared: Shared = ((globalThis as Record<symbol, Shared | undefined>)[KEY] ??= { storage: new AsyncLocalStorage<WasScope>(), active: 0 });

/**
 * Run `fn` (which hands the request to a mounted app) with `scope` as the current request, and end
 * the scope when `done` is called (the response closed). Returns what `fn` returns.
 */
export function runInScope<R>(scope: WasScope, fn: () => R): R {
  shared.active++;
  return shared.storage.run(scope, fn);
}

/** The response of `scope`'s request is done; the last one switches the storage off. */
export function endScope(scope: WasScope): void {
  if (scope.ended) return;
  scope.ended = true;
  if (--shared.active === 0) shared.storage.disable();
}

/**
 * The current request's `was`, inside a Node app mounted in `[routes:line]`. Throws
 * SKT_WAS_NO_REQUEST anywhere else: at module level, in a timer that outlived its request, in a
 * Skitai app route (which gets `was` as its first argument).
 */
export function currentWas(): Was {
  const scope = shared.storage.getStore();
  if (scope === undefined) {
    throw new SkitaiError('SKT_WAS_NO_REQUEST', '`was` is used outside a request: it is the current request\'s context inside a Node app mounted in [routes:line] (a Skitai app route gets `was` as its first argument)');
  }
  if (scope.ended) {
    throw new SkitaiError('SKT_WAS_NO_REQUEST', `\`was\` is used after the response to ${scope.describe()} was done: use it before the response ends`);
  }
  return scope.was;
}

const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * The package's `was` export (`import { was }` in a mounted app): stands for {@link currentWas}() on every use, so module code
 * can hold it and call `was.lb(…)` inside each request. Methods come bound to the request's `was`
 * (`const { lb } = was` inside a request works). It is never a promise, and printing it outside a
 * request does not throw.
 */
export const was: Was = new Proxy(Object.create(null) as Was, {
  get(_target, key) {
    if (key === 'then') return undefined;
    if (key === inspect) return () => (shared.storage.getStore() ? '[was of the current request]' : '[was: no current request]');
    if (typeof key === 'symbol' && shared.storage.getStore() === undefined) return undefined;
    const current = currentWas();
    const value: unknown = Reflect.get(current, key, current);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
  },
  has(_target, key) {
    return Reflect.has(currentWas(), key);
  },
  set(_target, key, value) {
    const current = currentWas();
    return Reflect.set(current, key, value, current);
  },
});
