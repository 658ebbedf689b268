import type { App, Args, Route } from './app.js';
import type { Was } from '../was/was.js';

/** A promise, or any object with a `then` method, as `await` sees it. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * {@link invokeRoute} without its promise when the app has no hooks: the handler's own return value,
 * a promise only if the handler returned one. Throws what the handler throws synchronously. Keeps a
 * synchronous RPC method from paying several promise hops per call.
 */
export function runRoute(app: App, route: Route, was: Was<App>, args: Args, onHookError: (err: unknown) => void): unknown {
  const { before, after, teardown } = app.hooks;
  if (before.length === 0 && after.length === 0 && teardown.length === 0) return route.handler(was, args);
  return invokeRoute(app, route, was, args, onHookError);
}

/**
 * Runs a route the way every caller (web request, XML-RPC, JSON-RPC) must: `before` hooks (a value
 * short-circuits the handler), the handler, `after` hooks (a value replaces the result), and on a
 * throw the `teardown` hooks (the first value rescues the call; otherwise the error is rethrown).
 * `onHookError` hears about teardown hooks that throw themselves.
 */
export async function invokeRoute(
  app: App,
  route: Route,
  was: Was<App>,
  args: Args,
  onHookError: (err: unknown) => void,
): Promise<unknown> {
  try {
    let result: unknown;
    for (const hook of app.hooks.before) {
      result = await hook(was);
      if (result !== undefined) break;
    }
    if (result === undefined) result = await route.handler(was, args);
    for (const hook of app.hooks.after) {
      const replaced = await hook(was, result);
      if (replaced !== undefined) result = replaced;
    }
    return result;
  } catch (err) {
    let rescued: unknown;
    for (const hook of app.hooks.teardown) {
      try {
        const r = await hook(was, err);
        if (r !== undefined && rescued === undefined) rescued = r;
      } catch (hookErr) {
        onHookError(hookErr);
      }
    }
    if (rescued === undefined) throw err;
    return rescued;
  }
}
