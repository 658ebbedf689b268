import { SkitaiError, isSkitaiError } from '../errors.js';

/**
 * Fault / error codes shared by XML-RPC and JSON-RPC.
 *
 * The server uses the "specification for fault code interoperability" (xmlrpc-epi) codes, which
 * JSON-RPC 2.0 later adopted unchanged, rather than Skitai 0.9.4's HTTP-like 404/403/500:
 * Python's `xmlrpc.client` users, JSON-RPC clients and generic tooling all recognise these
 * numbers, and one table then serves both protocols.
 *
 * | situation                                  | XML-RPC  | JSON-RPC |
 * |--------------------------------------------|----------|----------|
 * | body is not well-formed XML / JSON         | -32700   | -32700   |
 * | well-formed, but not a valid call; limits  | -32600   | -32600   |
 * | no function is routed at the method name   | -32601   | -32601   |
 * | params do not bind to the function         | -32602   | -32602   |
 * | the result cannot be encoded; server bug   | -32603   | -32603   |
 * | the app's function threw                   | -32500   | -32000   |
 * | `app.permitTo` refused the caller          | -32001   | -32001   |
 *
 * An app's function throws {@link RpcFault} to pick any other code (JSON-RPC apps should stay in
 * -32099..-32000 or outside the reserved -32768..-32000 block).
 */
export const RpcFaultCode = {
  PARSE_ERROR: -32700,
  UNSUPPORTED_ENCODING: -32701,
  INVALID_CHARACTER: -32702,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** XML-RPC interop "application error": the called function threw. */
  APPLICATION_ERROR: -32500,
  SYSTEM_ERROR: -32400,
  TRANSPORT_ERROR: -32300,
  /** JSON-RPC "server error" (first implementation-defined code): the called function threw. */
  SERVER_ERROR: -32000,
  PERMISSION_DENIED: -32001,
} as const;

/** The codes Skitai 0.9.4 sent, for apps that must answer old clients exactly. Not used by default. */
export const LegacyFaultCode = {
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  SERVER_ERROR: 500,
} as const;

/**
 * Thrown by an app's function (or the RPC handler) to answer with a specific fault:
 * `throw new RpcFault(RpcFaultCode.INVALID_PARAMS, 'id must be positive')`.
 * `data` is sent as JSON-RPC `error.data`; XML-RPC has no place for it and drops it.
 */
export class RpcFault extends SkitaiError {
  readonly faultCode: number;
  readonly data: unknown;

  constructor(faultCode: number, message: string, data?: unknown) {
    super('SKT_RPC_FAULT', message);
    this.name = 'RpcFault';
    this.faultCode = faultCode;
    this.data = data;
  }
}

/** A fault as the wire carries it: XML-RPC uses code+message, JSON-RPC also `data`. */
export interface FaultInfo {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * Maps anything thrown while serving an RPC call to the fault the server sends, per the
 * table on {@link RpcFaultCode}. Codec errors carry our own messages and are always shown;
 * an app's exception shows its message (and, for JSON-RPC, its stack as `data`) only when
 * `expose` is set — devel mode — because it may carry internals.
 */
export function faultFor(err: unknown, protocol: 'xmlrpc' | 'jsonrpc', expose = false): FaultInfo {
  if (err instanceof RpcFault) {
    return err.data === undefined
      ? { code: err.faultCode, message: err.message }
      : { code: err.faultCode, message: err.message, data: err.data };
  }
  if (isSkitaiError(err, 'SKT_RPC_PARSE')) return { code: RpcFaultCode.PARSE_ERROR, message: `Parse error: ${err.message}` };
  if (isSkitaiError(err, 'SKT_RPC_INVALID') || isSkitaiError(err, 'SKT_RPC_LIMIT')) {
    return { code: RpcFaultCode.INVALID_REQUEST, message: `Invalid Request: ${err.message}` };
  }
  if (isSkitaiError(err, 'SKT_RPC_ENCODE')) return { code: RpcFaultCode.INTERNAL_ERROR, message: `Internal error: ${err.message}` };
  const code = protocol === 'xmlrpc' ? RpcFaultCode.APPLICATION_ERROR : RpcFaultCode.SERVER_ERROR;
  if (!expose) return { code, message: 'Server error' };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : `thrown: ${String(err)}`;
  const stack = err instanceof Error ? err.stack : undefined;
  if (protocol === 'jsonrpc') return stack === undefined ? { code, message } : { code, message, data: { stack } };
  return { code, message: stack ?? message };
}
