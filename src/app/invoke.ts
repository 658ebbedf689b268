import type { App, Args, Route } from './app.js';
import type { Was } from '../was/was.js';

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
