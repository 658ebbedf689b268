import { SkitaiError, isSkitaiError } from '../errors.js';
import { RpcFaultCode } from './fault.js';
import { describeBody } from './preview.js';
import { decodeMessage, type DecodedResponse, type XmlRpcLimits } from './xmlrpc-decode.js';
import { encodeValue, escapeXmlLossy } from './xmlrpc-encode.js';

/**
 * XML-RPC messages: `methodCall` and `methodResponse` (params or fault), both directions.
 * The value mapping is documented in `xmlrpc-encode.ts`; fault codes in `fault.ts`.
 */

export interface XmlRpcCall {
  method: string;
  params: unknown[];
}

export interface XmlRpcFault {
  faultCode: number;
  faultString: string;
}

export type XmlRpcResponse = { value: unknown } | { fault: XmlRpcFault };

/** Method names as the XML-RPC spec allows them: `a.b`, `system.listMethods`, `a/b`, `ns:m`. */
const METHOD_NAME = /^[A-Za-z0-9_.:/]+$/;
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * Parses a request body into method name and params. Throws SkitaiError `SKT_RPC_PARSE`
 * (not well-formed), `SKT_RPC_INVALID` (well-formed, not a methodCall) or `SKT_RPC_LIMIT`.
 */
export function parseMethodCall(body: Buffer | Uint8Array | string, limits?: XmlRpcLimits): XmlRpcCall {
  const { method, params } = decodeMessage(body, 'methodCall', limits);
  return { method, params };
}

/**
 * Parses a response body (client side). A fault is returned, not thrown; anything that is not a
 * valid methodResponse — an HTML error page, a truncated body — throws SkitaiError
 * `SKT_RPC_RESPONSE` whose message says what the body looked like.
 */
export function parseMethodResponse(body: Buffer | Uint8Array | string, limits?: XmlRpcLimits): XmlRpcResponse {
  const fail = (why: string, cause?: unknown): SkitaiError =>
    new SkitaiError('SKT_RPC_RESPONSE', `malformed XML-RPC response (${describeBody(body)}): ${why}`, { cause });
  let message: DecodedResponse;
  try {
    message = decodeMessage(body, 'methodResponse', limits);
  } catch (err) {
    if (!isSkitaiError(err)) throw err;
    throw fail(err.message, err);
  }
  if (message.kind === 'response') {
    if (message.params.length !== 1) throw fail(`a response must carry exactly one <param>, found ${message.params.length}`);
    return { value: message.params[0] };
  }
  const fault = message.value;
  if (typeof fault !== 'object' || fault === null || Array.isArray(fault) || Buffer.isBuffer(fault) || fault instanceof Date) {
    throw fail('the fault value must be a <struct>');
  }
  const { faultCode, faultString } = fault as Record<string, unknown>;
  if (typeof faultCode !== 'number' || !Number.isInteger(faultCode)) throw fail('the fault struct needs an integer faultCode');
  if (typeof faultString !== 'string') throw fail('the fault struct needs a string faultString');
  return { fault: { faultCode, faultString } };
}

/**
 * Serializes a call (client side). An `undefined` param is sent as `<nil/>`, like an array item.
 * Throws SkitaiError `SKT_RPC_ENCODE` for a bad method name or a value XML-RPC cannot carry.
 */
export function serializeMethodCall(method: string, params: readonly unknown[] = []): string {
  if (!METHOD_NAME.test(method)) {
    throw new SkitaiError('SKT_RPC_ENCODE', `XML-RPC cannot encode method name ${JSON.stringify(method)} (allowed: A-Z a-z 0-9 _ . : /)`);
  }
  const out = [DECLARATION, '<methodCall>\n<methodName>', method, '</methodName>\n<params>\n'];
  params.forEach((p, i) => {
    out.push('<param>\n');
    encodeValue(p === undefined ? null : p, out, `param ${i}`);
    out.push('\n</param>\n');
  });
  out.push('</params>\n</methodCall>\n');
  return out.join('');
}

/**
 * Serializes a successful response. `undefined` is refused (SKT_RPC_ENCODE) like any value XML-RPC
 * cannot carry; a handler whose function returned nothing passes `result ?? null` to send `<nil/>`.
 */
export function serializeMethodResponse(value: unknown): string {
  const out = [DECLARATION, '<methodResponse>\n<params>\n<param>\n'];
  encodeValue(value, out, 'result');
  out.push('\n</param>\n</params>\n</methodResponse>\n');
  return out.join('');
}

/**
 * Serializes a fault. Never throws: characters XML cannot carry become U+FFFD, and a code that is
 * not a 32-bit integer becomes -32603 (internal error), so the server always has an answer to send.
 */
export function serializeFault(code: number, message: string): string {
  const faultCode = Number.isInteger(code) && code >= -(2 ** 31) && code < 2 ** 31 ? code : RpcFaultCode.INTERNAL_ERROR;
  return (
    DECLARATION +
    '<methodResponse>\n<fault>\n<value><struct>\n' +
    `<member>\n<name>faultCode</name>\n<value><int>${faultCode}</int></value>\n</member>\n` +
    `<member>\n<name>faultString</name>\n<value><string>${escapeXmlLossy(String(message))}</string></value>\n</member>\n` +
    '</struct></value>\n</fault>\n</methodResponse>\n'
  );
}
