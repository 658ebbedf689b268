import { SkitaiError } from '../errors.js';
import { RpcFaultCode, faultFor, type FaultInfo } from './fault.js';
import { describeBody } from './preview.js';

/**
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification). Server side: parse a body into requests,
 * run them through a callback and build the exact response body the spec asks for. Client side:
 * serialize a request and validate its response. Error codes are in `fault.ts` (`RpcFaultCode`).
 */

export type JsonRpcId = string | number | null;
export type JsonRpcParams = unknown[] | Record<string, unknown>;

/** A valid request. A notification is a request WITHOUT an `id` member; `id: null` is not one. */
export interface JsonRpcRequest {
  kind: 'request';
  method: string;
  params: JsonRpcParams | undefined;
  /** `undefined` only for a notification. */
  id: JsonRpcId | undefined;
  notification: boolean;
}

/** A batch element (or single body) that is valid JSON but not a valid request; answered with id null. */
export interface JsonRpcInvalid {
  kind: 'invalid';
  /** Why, for logs and devel mode; the wire message stays "Invalid Request". */
  reason: string;
}

export type JsonRpcEntry = JsonRpcRequest | JsonRpcInvalid;

export type JsonRpcInput =
  | { kind: 'parse-error'; reason: string }
  | { kind: 'single'; entry: JsonRpcEntry }
  | { kind: 'batch'; entries: JsonRpcEntry[] };

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** The spec's messages for its predefined codes, sent verbatim so clients see the expected text. */
export const JSONRPC_MESSAGES: Readonly<Record<number, string>> = {
  [RpcFaultCode.PARSE_ERROR]: 'Parse error',
  [RpcFaultCode.INVALID_REQUEST]: 'Invalid Request',
  [RpcFaultCode.METHOD_NOT_FOUND]: 'Method not found',
  [RpcFaultCode.INVALID_PARAMS]: 'Invalid params',
  [RpcFaultCode.INTERNAL_ERROR]: 'Internal error',
  [RpcFaultCode.SERVER_ERROR]: 'Server error',
};

export const JSONRPC_DEFAULT_MAX_BATCH = 1000;

/**
 * Parses a request body. Never throws: bad JSON (or bad UTF-8) is a `parse-error`, an empty
 * batch or one longer than `maxBatch` is a single invalid entry, as the spec answers `[]`.
 */
// decode() without { stream: true } keeps no state between calls, so one decoder serves all.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseJsonRpc(body: Buffer | Uint8Array | string, limits: { maxBatch?: number } = {}): JsonRpcInput {
  let value: unknown;
  try {
    const text = typeof body === 'string' ? body : STRICT_UTF8.decode(body);
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : 'the body is not valid UTF-8';
    return { kind: 'parse-error', reason };
  }
  if (!Array.isArray(value)) return { kind: 'single', entry: toEntry(value) };
  const maxBatch = limits.maxBatch ?? JSONRPC_DEFAULT_MAX_BATCH;
  if (value.length === 0) return { kind: 'single', entry: { kind: 'invalid', reason: 'empty batch' } };
  if (value.length > maxBatch) {
    return { kind: 'single', entry: { kind: 'invalid', reason: `batch of ${value.length} calls exceeds the limit of ${maxBatch}` } };
  }
  return { kind: 'batch', entries: value.map(toEntry) };
}

function invalid(reason: string): JsonRpcInvalid {
  return { kind: 'invalid', reason };
}

function toEntry(v: unknown): JsonRpcEntry {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid('a request must be a JSON object');
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') return invalid('member "jsonrpc" must be exactly "2.0"');
  if (typeof o.method !== 'string') return invalid('member "method" must be a string');
  const params = o.params;
  if (params !== undefined && (typeof params !== 'object' || params === null)) return invalid('member "params" must be an array or an object');
  const hasId = Object.hasOwn(o, 'id');
  const id = o.id;
  if (hasId && id !== null && typeof id !== 'string' && typeof id !== 'number') return invalid('member "id" must be a string, a number or null');
  return { kind: 'request', method: o.method, params: params as JsonRpcParams | undefined, id: hasId ? (id as JsonRpcId) : undefined, notification: !hasId };
}

/** `{"jsonrpc":"2.0","result":…,"id":…}`; `undefined` becomes null. Throws SKT_RPC_ENCODE if the result cannot be JSON. */
export function successResponse(id: JsonRpcId, result: unknown): string {
  const json = result === undefined ? 'null' : toJson(result, 'the result');
  return `{"jsonrpc":"2.0","result":${json},"id":${JSON.stringify(id)}}`;
}

/** `{"jsonrpc":"2.0","error":{code,message,data?},"id":…}`. Never throws: `data` that cannot be JSON is dropped. */
export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): string {
  let dataJson: string | undefined;
  if (data !== undefined) {
    try {
      dataJson = toJson(data, 'error data');
    } catch {
      dataJson = undefined;
    }
  }
  const error = `{"code":${Number.isFinite(code) ? code : RpcFaultCode.INTERNAL_ERROR},"message":${JSON.stringify(String(message))}${dataJson === undefined ? '' : `,"data":${dataJson}`}}`;
  return `{"jsonrpc":"2.0","error":${error},"id":${JSON.stringify(id)}}`;
}

/**
 * JSON text of `value`, or SkitaiError `SKT_RPC_ENCODE` (BigInt, a cycle, nesting too deep for the
 * stack, or a function/symbol at the top). NaN and functions inside objects follow JSON.stringify.
 */
export function toJson(value: unknown, what = 'the value'): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new SkitaiError('SKT_RPC_ENCODE', `JSON-RPC cannot encode ${what}: ${why}`, { cause: err });
  }
  if (json === undefined) throw new SkitaiError('SKT_RPC_ENCODE', `JSON-RPC cannot encode ${what}: a ${typeof value} is not JSON`);
  return json;
}

/** Runs one method: the value to send, or an error thrown for {@link respondJsonRpc} to map. */
export type JsonRpcInvoke = (method: string, params: JsonRpcParams | undefined, request: JsonRpcRequest) => unknown;

export interface RespondOptions {
  /** Devel mode: show app exception messages and stacks, and codec details as `error.data`. */
  expose?: boolean;
  /** Maps what `invoke` threw to the error sent; default {@link faultFor} (RpcFault keeps its code, else -32000). */
  mapError?: (err: unknown, request: JsonRpcRequest) => FaultInfo;
}

/**
 * Answers a parsed body per the spec: a JSON object text for a single call, a JSON array text for a
 * batch, or `null` when nothing must be sent (a notification, or a batch of only notifications).
 * Batch calls run concurrently; responses keep request order. Notifications run too, but what they
 * throw is dropped — wrap `invoke` to log it. A result that cannot be JSON becomes -32603 for that call.
 */
export function respondJsonRpc(input: JsonRpcInput, invoke: JsonRpcInvoke, options: RespondOptions = {}): Promise<string | null> {
  if (input.kind === 'parse-error') return Promise.resolve(standardError(null, RpcFaultCode.PARSE_ERROR, input.reason, options));
  if (input.kind === 'single') {
    const one = answer(input.entry, invoke, options);
    return one instanceof Promise ? one : Promise.resolve(one);
  }
  return Promise.all(input.entries.map((e) => answer(e, invoke, options))).then((parts) => {
    const sent = parts.filter((p): p is string => p !== null);
    return sent.length === 0 ? null : `[${sent.join(',')}]`;
  });
}

/** One entry's answer: synchronous when `invoke` answered synchronously, so a plain call makes no promise hops. */
function answer(entry: JsonRpcEntry, invoke: JsonRpcInvoke, options: RespondOptions): string | null | Promise<string | null> {
  if (entry.kind === 'invalid') return standardError(null, RpcFaultCode.INVALID_REQUEST, entry.reason, options);
  let result: unknown;
  try {
    result = invoke(entry.method, entry.params, entry);
  } catch (err) {
    return failed(entry, err, options);
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value: unknown) => succeeded(entry, value, options),
      (err: unknown) => failed(entry, err, options),
    );
  }
  return succeeded(entry, result, options);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

function succeeded(entry: JsonRpcRequest, result: unknown, options: RespondOptions): string | null {
  if (entry.notification) return null;
  const id = entry.id ?? null;
  try {
    return successResponse(id, result);
  } catch (err) {
    return standardError(id, RpcFaultCode.INTERNAL_ERROR, err instanceof Error ? err.message : String(err), options);
  }
}

function failed(entry: JsonRpcRequest, err: unknown, options: RespondOptions): string | null {
  if (entry.notification) return null;
  return errorResponse(entry.id ?? null, ...toFault(err, entry, options));
}

function toFault(err: unknown, request: JsonRpcRequest, options: RespondOptions): [number, string, unknown] {
  let f: FaultInfo | undefined;
  try {
    f = options.mapError?.(err, request);
  } catch {
    f = undefined; // a broken mapping must not lose the answer; fall back to the default
  }
  f ??= faultFor(err, 'jsonrpc', options.expose ?? false);
  return [f.code, f.message, f.data];
}

/** An error with the spec's exact message; the detail rides in `data` only in devel mode. */
function standardError(id: JsonRpcId, code: number, detail: string, options: RespondOptions): string {
  return errorResponse(id, code, JSONRPC_MESSAGES[code] ?? 'Server error', options.expose ? detail : undefined);
}

// ---------------------------------------------------------------------------------------------
// client side: the request a `was` call sends and the check of what comes back

export type JsonRpcResponse = { id: JsonRpcId; result: unknown } | { id: JsonRpcId; error: JsonRpcErrorObject };

/**
 * Serializes a request; with `id` undefined it is a notification (no `id` member at all).
 * Throws SkitaiError `SKT_RPC_ENCODE` for params JSON cannot carry (BigInt, cycles) or of the wrong shape.
 */
export function serializeRequest(method: string, params?: JsonRpcParams, id?: JsonRpcId): string {
  if (params !== undefined && (typeof params !== 'object' || params === null)) {
    throw new SkitaiError('SKT_RPC_ENCODE', 'JSON-RPC params must be an array or an object');
  }
  if (id !== undefined && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
    throw new SkitaiError('SKT_RPC_ENCODE', 'a JSON-RPC id must be a string, a finite number or null');
  }
  const request: Record<string, unknown> = { jsonrpc: '2.0', method };
  if (params !== undefined) request.params = params;
  if (id !== undefined) request.id = id;
  try {
    return JSON.stringify(request);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new SkitaiError('SKT_RPC_ENCODE', `JSON-RPC cannot encode the params of ${method}: ${why}`, { cause: err });
  }
}

/**
 * Parses and validates a single response. An error response is returned, not thrown. Anything else
 * — not JSON, an HTML error page, a wrong shape, an id other than `expectedId` — throws SkitaiError
 * `SKT_RPC_RESPONSE` saying what the body looked like. `id: null` is accepted on an error
 * response whatever was sent, since a server cannot echo an id it failed to read.
 */
export function parseResponse(body: Buffer | Uint8Array | string, expectedId?: JsonRpcId): JsonRpcResponse {
  const fail = (why: string): SkitaiError => new SkitaiError('SKT_RPC_RESPONSE', `malformed JSON-RPC response (${describeBody(body)}): ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw fail(err instanceof SyntaxError ? `not JSON (${err.message})` : 'not valid UTF-8');
  }
  if (Array.isArray(value)) throw fail('a batch (array) where one response was expected');
  if (typeof value !== 'object' || value === null) throw fail('not a JSON object');
  const o = value as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') throw fail('member "jsonrpc" is not "2.0"');
  const id = o.id;
  if (!Object.hasOwn(o, 'id') || (id !== null && typeof id !== 'string' && typeof id !== 'number')) {
    throw fail('member "id" is missing or not a string, number or null');
  }
  const hasResult = Object.hasOwn(o, 'result');
  const hasError = Object.hasOwn(o, 'error');
  if (hasResult === hasError) throw fail('exactly one of "result" and "error" must be present');
  if (expectedId !== undefined && id !== expectedId && !(hasError && id === null)) {
    throw fail(`id ${JSON.stringify(id)} does not match the request's ${JSON.stringify(expectedId)}`);
  }
  if (hasResult) return { id, result: o.result };
  const e = o.error;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw fail('member "error" is not an object');
  const { code, message, data } = e as Record<string, unknown>;
  if (typeof code !== 'number' || !Number.isInteger(code)) throw fail('error.code is not an integer');
  if (typeof message !== 'string') throw fail('error.message is not a string');
  const error: JsonRpcErrorObject = Object.hasOwn(e, 'data') ? { code, message, data } : { code, message };
  return { id, error };
}
