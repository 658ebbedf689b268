import type { App } from '../../app/app.js';
import { readRaw } from '../../http/body.js';
import type { Exchange } from '../../http/handler.js';
import { respond } from '../../http/respond.js';
import { RpcFaultCode, type FaultInfo } from '../../rpc/fault.js';
import { JSONRPC_MESSAGES, parseJsonRpc, respondJsonRpc, type JsonRpcRequest, type RespondOptions } from '../../rpc/jsonrpc.js';
import type { Was } from '../../was/was.js';
import type { AppEndpoint } from '../app.js';
import type { Guard } from '../guard.js';
import { callMethod, faultOf, type RpcOptions } from './call.js';
import { mediaType } from './xmlrpc.js';

/** Paths (relative to the mount) where a plain `application/json` POST is taken as JSON-RPC. */
const ENDPOINT_PATHS = new Set(['', '/', '/rpc2', '/jsonrpc']);

/**
 * JSON-RPC 2.0 on an app. `application/json-rpc` bodies are JSON-RPC on any path where no web route
 * takes POST; `application/json` bodies only at the mount point, `/rpc2` and `/jsonrpc` (so JSON
 * posted to web routes keeps binding to arguments). Notifications get no reply: a lone one, or a
 * batch of only notifications, is answered 204.
 */
export class JsonRpcEndpoint implements AppEndpoint {
  constructor(readonly options: RpcOptions) {}

  declines(method: string): boolean {
    return method !== 'POST';
  }

  accepts(ex: Exchange, app: App, rest: string): boolean {
    if (ex.method !== 'POST') return false;
    const type = mediaType(ex.req.headers['content-type']);
    if (type === 'application/json-rpc') return app.match(rest, 'POST').kind !== 'route';
    return type === 'application/json' && ENDPOINT_PATHS.has(rest.toLowerCase()) && app.match(rest, 'POST').kind !== 'route';
  }

  async serve(ex: Exchange, app: App, prefix: string, was: Was<App>, guard: Guard): Promise<void> {
    const body = await readRaw(ex.req, this.options.maxBody);
    was.request.body = body;
    // The closure is made in an array (under tsx a named one pays a __name call per request) and the
    // literal is built whole: adding mapError to `{ expose }` afterwards made V8 pretenure that literal,
    // so every request's options went straight to old space (docs/performance.md).
    const [mapError] = [(err: unknown, request: JsonRpcRequest): FaultInfo => this.#error(faultOf(err, 'jsonrpc', ex, request.method, this.options), ex.devel)];
    const options: RespondOptions = { expose: ex.devel, mapError };
    const reply = await respondJsonRpc(parseJsonRpc(body), (method, params) => callMethod(app, prefix, was, method, params, this.options.logger, guard), options);
    if (reply === null) respond(ex, 204, undefined, undefined);
    else respond(ex, 200, { 'content-type': 'application/json; charset=utf-8' }, reply);
  }

  /** The spec's reserved codes keep the spec's exact message; our detail rides in `data` in devel mode. */
  #error(fault: FaultInfo, devel: boolean): FaultInfo {
    const standard = JSONRPC_MESSAGES[fault.code];
    if (standard === undefined || fault.code === RpcFaultCode.SERVER_ERROR || fault.message === standard) return fault;
    return devel ? { code: fault.code, message: standard, data: fault.data ?? fault.message } : { code: fault.code, message: standard };
  }
}
