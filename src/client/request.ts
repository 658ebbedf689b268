import { Readable } from 'node:stream';
import type { FormData } from 'undici';
import { undici } from '../transport/http/undici.js';
import { SkitaiError } from '../errors.js';
import type { RequestContext } from '../log/trace.js';
import { serializeRequest } from '../rpc/jsonrpc.js';
import { serializeMethodCall } from '../rpc/xmlrpc.js';
import { isIdempotent } from '../call/retry.js';
import type { Body, Prepared } from '../transport/http/prepared.js';

export type { Body, Prepared } from '../transport/http/prepared.js';

/**
 * Builds the HTTP request of a call from Skitai's (method, data) pair:
 *
 * | method          | body                                                                     |
 * |-----------------|--------------------------------------------------------------------------|
 * | XMLRPC, JSONRPC | POST of the encoded call (`text/xml`, `application/json-rpc`)            |
 * | GET HEAD DELETE OPTIONS | none; an object `data` becomes the query string                  |
 * | POST            | object -> urlencoded (JSON when Content-Type says json); string/Buffer as is |
 * | PUT PATCH, other verbs | object -> JSON (urlencoded when Content-Type says so); string/Buffer as is |
 * | UPLOAD          | POST multipart/form-data from an object of strings, Buffers, Blobs or `{ data, filename, type }` |
 */

/** A file part of an UPLOAD. Read files with `await fs.openAsBlob(path)` and pass the Blob as `data`. */
export interface UploadFile {
  readonly data: Blob | Uint8Array | string;
  readonly filename?: string;
  readonly type?: string;
}


/** Options every call accepts. */
export interface RequestOptions {
  /**
   * Extra request headers. `Content-Type` is honoured for string/Buffer/RPC bodies; length and
   * hop-by-hop headers are not. A name that is not an HTTP token, or a value with CR, LF or NUL,
   * throws SKT_CLIENT_USAGE when the call is made (numbers are sent as their digits).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** `user:password`, sent as `Authorization: Basic`. */
  readonly login?: string;
  /**
   * Allow failover and hedging although the method is not idempotent (POST, PATCH, XMLRPC,
   * JSONRPC, UPLOAD): say so for RPC methods that only read. `false` forbids them even for GET.
   */
  readonly safe?: boolean;
  /**
   * The request this call is made for (`was` sets it): its id goes out as `X-Request-Id` and a
   * child of its trace as `traceparent`. Not part of the result-cache key.
   */
  readonly context?: RequestContext | undefined;
}


const NO_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);
// Set by undici from the body, or hop-by-hop: a caller's value would be wrong or refused.
const DROPPED = new Set(['content-length', 'host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect']);
const USER_AGENT = 'Mozilla/5.0 (compatible; Skitaibot/0.1)';
// A caller's header is checked once here, for either member client: a bad one is the caller's error, not the member's.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const UNSAFE_VALUE = /[\r\n\0]/;

let nextRpcId = 1;

/**
 * `method` in upper case. The verbs calls use are looked up first: `toUpperCase()` is a call into
 * V8's runtime (ICU) each time, about 300 instructions, and every call made it twice.
 */
function upper(method: string): string {
  return UPPER.get(method) ?? method.toUpperCase();
}
const UPPER = new Map<string, string>(
  ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'XMLRPC', 'JSONRPC'].flatMap((m): [string, string][] => [[m, m], [m.toLowerCase(), m]]),
);

/** RPC method names of `s.a.b(x)` style calls, or plain verbs. */
export function isRpcMethod(method: string): boolean {
  const m = upper(method);
  return m === 'XMLRPC' || m === 'JSONRPC';
}

/** Build the request for `method` on `path` (which may carry a query already). */
export function prepare(method: string, path: string, data: unknown, options: RequestOptions, rpc?: { name: string; params: unknown[] }): Prepared {
  const verb = upper(method);
  const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'gzip, deflate', 'user-agent': USER_AGENT };
  const extra = options.headers;
  if (extra !== undefined) {
    for (const [k, v] of Object.entries(extra)) {
      const name = k.toLowerCase();
      if (!TOKEN.test(name)) throw new SkitaiError('SKT_CLIENT_USAGE', `not a header name a call can send: ${JSON.stringify(k)}`);
      // A number is what plain-JS callers often pass (`'x-page': 2`); anything else is a mistake.
      const value: unknown = typeof v === 'number' ? String(v) : v;
      if (typeof value !== 'string' || UNSAFE_VALUE.test(value)) throw new SkitaiError('SKT_CLIENT_USAGE', `the header ${name} must be a string without CR, LF or NUL`);
      if (!DROPPED.has(name)) headers[name] = value;
    }
  }
  const ctx = options.context;
  if (ctx) {
    headers['x-request-id'] = ctx.id;
    headers.traceparent = ctx.traceparent();
  }
  if (options.login !== undefined) headers.authorization = `Basic ${Buffer.from(options.login).toString('base64')}`;
  const safe = options.safe;
  if (verb === 'XMLRPC' || verb === 'JSONRPC') {
    if (!rpc) throw new SkitaiError('SKT_CLIENT_USAGE', `${verb}: call a method on the returned object to send`);
    const retryable = safe === true;
    if (verb === 'XMLRPC') {
      headers['content-type'] ??= 'text/xml; charset=utf-8';
      if (headers.accept === '*/*') headers.accept = 'text/xml';
      return { kind: 'xmlrpc', method: 'POST', path, headers, body: serializeMethodCall(rpc.name, rpc.params), replayable: true, retryable, rpcMethod: rpc.name };
    }
    const id = nextRpcId++;
    if (nextRpcId > 2 ** 31) nextRpcId = 1;
    // Skitai servers take application/json-rpc on any path; set Content-Type for servers that want application/json.
    headers['content-type'] ??= 'application/json-rpc; charset=utf-8';
    if (headers.accept === '*/*') headers.accept = 'application/json-rpc, application/json';
    return { kind: 'jsonrpc', method: 'POST', path, headers, body: serializeRequest(rpc.name, rpc.params, id), replayable: true, retryable, rpcId: id, rpcMethod: rpc.name };
  }
  if (!/^[A-Z][A-Z0-9_-]*$/.test(verb) || verb === 'CONNECT') throw new SkitaiError('SKT_CLIENT_USAGE', `not a method a call can send: ${JSON.stringify(method)}`);
  const retryable = safe ?? isIdempotent(verb);
  if (verb === 'UPLOAD') {
    delete headers['content-type'];
    return { kind: 'http', method: 'POST', path, headers, body: multipart(data), replayable: true, retryable };
  }
  if (NO_BODY.has(verb)) {
    if (data !== undefined && data !== null && !isPlainObject(data)) {
      throw new SkitaiError('SKT_CLIENT_USAGE', `${verb} takes its data as an object of query parameters`);
    }
    return { kind: 'http', method: verb, path: withQuery(path, data as Record<string, unknown> | undefined), headers, body: undefined, replayable: true, retryable };
  }
  const body = encodeBody(verb, data, headers);
  return { kind: 'http', method: verb, path, headers, body, replayable: !(body instanceof Readable), retryable };
}

function encodeBody(verb: string, data: unknown, headers: Record<string, string>): Body {
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof Readable) return data;
  if (isAsyncIterable(data)) return Readable.from(data);
  const type = headers['content-type']?.toLowerCase() ?? '';
  const asJson = type.includes('json') || (type === '' && verb !== 'POST');
  if (asJson) {
    headers['content-type'] ??= 'application/json; charset=utf-8';
    return JSON.stringify(data);
  }
  if (!isPlainObject(data)) throw new SkitaiError('SKT_CLIENT_USAGE', `${verb} form data must be a plain object`);
  headers['content-type'] ??= 'application/x-www-form-urlencoded; charset=utf-8';
  return formEncode(data).toString();
}

function multipart(data: unknown): FormData {
  if (!isPlainObject(data)) throw new SkitaiError('SKT_CLIENT_USAGE', 'UPLOAD takes an object of fields (strings, Buffers, Blobs or { data, filename, type })');
  const form = new (undici().FormData)();
  for (const [name, value] of Object.entries(data)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') form.append(name, String(value));
    else if (value instanceof Blob) form.append(name, value, (value as { name?: string }).name ?? name);
    else if (value instanceof Uint8Array) form.append(name, new Blob([value]), name);
    else if (isPlainObject(value) && 'data' in value) {
      const file = value as unknown as UploadFile;
      const blob = file.data instanceof Blob ? file.data : new Blob([file.data], file.type ? { type: file.type } : {});
      form.append(name, blob, file.filename ?? name);
    } else throw new SkitaiError('SKT_CLIENT_USAGE', `UPLOAD field "${name}" must be a string, Buffer, Blob or { data, filename, type }`);
  }
  return form;
}

function formEncode(data: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, typeof item === 'object' ? JSON.stringify(item) : String(item));
  }
  return params;
}

function withQuery(path: string, data: Record<string, unknown> | undefined): string {
  if (!data) return path;
  const query = formEncode(data).toString();
  if (query === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${query}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}
