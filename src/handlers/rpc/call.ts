import { Readable } from 'node:stream';
import type { App } from '../../app/app.js';
import { isThenable, runRoute } from '../../app/invoke.js';
import { isSkitaiError } from '../../errors.js';
import type { Exchange } from '../../http/handler.js';
import type { Logger } from '../../log/logger.js';
import { RpcFault, RpcFaultCode, faultFor, type FaultInfo } from '../../rpc/fault.js';
import type { Was } from '../../was/was.js';
import type { Guard } from '../guard.js';
import { bindParams, resolveMethod } from './methods.js';

/** What both RPC endpoints need from the server. */
export interface RpcOptions {
  /** Largest request body, bytes (`[server] max_body_size`). */
  maxBody: number;
  logger: Logger;
}

/** Refuse the caller unless permitted to `groups` of the app (system.* methods follow the app's setting). */
export function authorizeApp(app: App, guard: Guard, was: Was<App>, method: string): void {
  const groups = app.permitted;
  if (groups.length > 0) was.request.user = guard.rpc(groups, method);
}

/**
 * Call the app function (after the permission check of its route) that answers `method`, with RPC
 * params bound to its arguments. The value itself when the function answers synchronously (and the
 * app has no hooks), else a promise of it; throws (or rejects) for a fault.
 */
export function callMethod(app: App, prefix: string, was: Was<App>, method: string, params: unknown, logger: Logger, guard: Guard): unknown {
  const { route, params: pathParams } = resolveMethod(app, prefix, method);
  // Before binding: a caller without permission learns nothing about the method's parameters.
  const groups = app.permitOf(route);
  if (groups.length > 0) was.request.user = guard.rpc(groups, method);
  const args = bindParams(method, route, pathParams, params);
  const result = runRoute(app, route, was, args, (err) => logger.error(`a teardown hook threw during ${method}`, err));
  if (isThenable(result)) return Promise.resolve(result).then((value: unknown) => rpcValue(method, value));
  return rpcValue(method, result);
}

function rpcValue(method: string, result: unknown): unknown {
  if (result instanceof Response || result instanceof Readable || isAsyncIterable(result)) {
    throw new RpcFault(RpcFaultCode.INTERNAL_ERROR, `${method} returned a stream or Response, which RPC cannot carry`);
  }
  return result;
}

/**
 * The fault for anything a call threw. A handler's `abort(status, message)` is an answer meant for
 * the caller, so its message is shown; other app errors are logged with their stack and shown only
 * in devel mode (`ex.devel`: `[server] devel`, or the app's own `app.devel`), secrets blanked out.
 */
export function faultOf(err: unknown, protocol: 'xmlrpc' | 'jsonrpc', ex: Exchange, method: string, options: RpcOptions): FaultInfo {
  if (isSkitaiError(err, 'SKT_HTTP_ABORT')) {
    return { code: protocol === 'xmlrpc' ? RpcFaultCode.APPLICATION_ERROR : RpcFaultCode.SERVER_ERROR, message: err.message };
  }
  if (!(err instanceof RpcFault) && !isSkitaiError(err, 'SKT_RPC_PARSE') && !isSkitaiError(err, 'SKT_RPC_INVALID') && !isSkitaiError(err, 'SKT_RPC_LIMIT')) {
    options.logger.error(`${protocol} ${method} failed (${ex.method} ${ex.path})`, err, { reqId: ex.id });
  }
  const fault = faultFor(err, protocol, ex.devel);
  return ex.devel && ex.hideSecrets ? hideInFault(fault, ex.hideSecrets) : fault;
}

function hideInFault(fault: FaultInfo, hide: (text: string) => string): FaultInfo {
  const message = hide(fault.message);
  const data = fault.data as { stack?: unknown } | undefined;
  if (data && typeof data.stack === 'string') return { ...fault, message, data: { ...data, stack: hide(data.stack) } };
  return { ...fault, message };
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}
