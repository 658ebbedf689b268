import type { App, Args, Route } from '../../app/app.js';
import { RpcFault, RpcFaultCode } from '../../rpc/fault.js';

/** A method name resolved to an app route, with its arguments bound. */
export interface BoundCall {
  route: Route;
  args: Args;
}

/**
 * Resolve an RPC method name to a route, as Skitai did: `a.b.c` calls the function routed at
 * `/a/b/c` under the app's mount prefix, so an app mounted at `/test` with `/hello/world` answers
 * `test.hello.world`. A name that does not start with the prefix's segments is also tried relative
 * to the mount (`hello.world`), which is what a client pointed at `/test/` naturally sends.
 */
export function resolveMethod(app: App, prefix: string, method: string): { route: Route; params: Record<string, string | number> } {
  if (!/^[\w$-]+(?:\.[\w$-]+)*$/.test(method)) {
    throw new RpcFault(RpcFaultCode.METHOD_NOT_FOUND, `method "${truncate(method)}" is not a dotted name`);
  }
  const path = '/' + method.split('.').join('/');
  const candidates = prefix && (path === prefix || path.startsWith(prefix + '/')) ? [path.slice(prefix.length) || '/', path] : [path];
  for (const rest of candidates) {
    const m = app.match(rest, 'POST', true);
    if (m.kind === 'route') return { route: m.route, params: m.params };
  }
  throw new RpcFault(RpcFaultCode.METHOD_NOT_FOUND, `method "${truncate(method)}" is not found`);
}

/**
 * Bind RPC params to a route's arguments: positional params to the route's declared names
 * (`options.params`, or the rule's parameter names), an object (JSON-RPC named params) by name.
 */
export function bindParams(method: string, route: Route, pathParams: Record<string, string | number>, params: unknown): Args {
  if (params === undefined) return { ...pathParams };
  if (!Array.isArray(params)) return { ...(params as Record<string, unknown>), ...pathParams };
  const names = route.params;
  if (params.length > names.length) {
    throw new RpcFault(
      RpcFaultCode.INVALID_PARAMS,
      `${method} takes ${names.length} positional param${names.length === 1 ? '' : 's'}${names.length ? ` (${names.join(', ')})` : ''}, got ${params.length}`,
    );
  }
  const args: Args = {};
  params.forEach((value, i) => (args[names[i]!] = value));
  // Into args, not `{ ...args, ...pathParams }`: a spread copy that gains keys gets a new hidden class per call in V8.
  for (const name in pathParams) args[name] = pathParams[name];
  return args;
}

/** Dotted names of every RPC-visible route with a fixed path, prefix included. */
export function listMethods(app: App, prefix: string): string[] {
  const names = new Set<string>();
  for (const route of app.routes) {
    if (route.rpc === false || !route.rule.isStatic) continue;
    const full = (prefix + route.rule.source).replace(/\/+$/, '');
    if (full) names.add(full.slice(1).split('/').join('.'));
  }
  return [...names].sort();
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
