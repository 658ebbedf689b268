import type { App } from '../../app/app.js';
import { readRaw } from '../../http/body.js';
import type { Exchange } from '../../http/handler.js';
import { respond } from '../../http/respond.js';
import { RpcFault, RpcFaultCode } from '../../rpc/fault.js';
import { MULTICALL_METHOD, runMulticall } from '../../rpc/multicall.js';
import { parseMethodCall, serializeFault, serializeMethodResponse } from '../../rpc/xmlrpc.js';
import type { Was } from '../../was/was.js';
import type { AppEndpoint } from '../app.js';
import type { Guard } from '../guard.js';
import { authorizeApp, callMethod, faultOf, type RpcOptions } from './call.js';
import { listMethods, resolveMethod } from './methods.js';

const XML_TYPES = new Set(['text/xml', 'application/xml']);
const HEADERS = { 'content-type': 'text/xml; charset=utf-8' };

/**
 * XML-RPC on an app: a POST with an XML body to a path where no web route takes POST (the mount
 * point, `/RPC2` — Python's default — or any other) is a methodCall. Faults travel as HTTP 200
 * with a `<fault>`, as the spec requires; only transport problems (413) use HTTP statuses.
 */
export class XmlRpcEndpoint implements AppEndpoint {
  constructor(readonly options: RpcOptions) {}

  declines(method: string): boolean {
    return method !== 'POST';
  }

  accepts(ex: Exchange, app: App, rest: string): boolean {
    if (ex.method !== 'POST') return false;
    const type = mediaType(ex.req.headers['content-type']);
    return XML_TYPES.has(type) && app.match(rest, 'POST').kind !== 'route';
  }

  async serve(ex: Exchange, app: App, prefix: string, was: Was<App>, guard: Guard): Promise<void> {
    const body = await readRaw(ex.req, this.options.maxBody);
    was.request.body = body;
    let method = '(unparsed)';
    let xml: string;
    try {
      const call = parseMethodCall(body, { maxBytes: this.options.maxBody });
      method = call.method;
      const value = await this.#dispatch(ex, app, prefix, was, call.method, call.params, guard);
      xml = serializeMethodResponse(value ?? null);
    } catch (err) {
      const fault = faultOf(err, 'xmlrpc', ex, method, this.options);
      xml = serializeFault(fault.code, fault.message);
    }
    respond(ex, 200, HEADERS, xml);
  }

  #dispatch(ex: Exchange, app: App, prefix: string, was: Was<App>, method: string, params: unknown[], guard: Guard): unknown {
    const logger = this.options.logger;
    switch (method) {
      case MULTICALL_METHOD:
        // Each call inside is checked on its own (its fault in its slot), as if sent alone.
        return runMulticall(params, (m, p) => this.#dispatch(ex, app, prefix, was, m, p, guard), ex.devel, ex.hideSecrets);
      case 'system.listMethods':
        authorizeApp(app, guard, was, method);
        return [...listMethods(app, prefix), 'system.listMethods', 'system.methodHelp', 'system.methodSignature', MULTICALL_METHOD];
      case 'system.methodHelp': {
        const name = params[0];
        if (typeof name !== 'string') throw new RpcFault(RpcFaultCode.INVALID_PARAMS, 'system.methodHelp takes a method name');
        if (name.startsWith('system.')) return '';
        const { route } = resolveMethod(app, prefix, name);
        const groups = app.permitOf(route);
        if (groups.length > 0) guard.rpc(groups, method);
        return route.doc;
      }
      case 'system.methodSignature':
        authorizeApp(app, guard, was, method);
        // Routes declare names, not types: the introspection spec's answer for "unknown" is this string.
        return 'signatures not supported';
      default:
        return callMethod(app, prefix, was, method, params, logger, guard);
    }
  }
}

/** `text/xml; charset=utf-8` -> `text/xml`. */
export function mediaType(header: string | undefined): string {
  if (!header) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}
