import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SkitaiError } from '../../errors.js';
import { parseResponse } from '../../rpc/jsonrpc.js';
import { parseMethodResponse } from '../../rpc/xmlrpc.js';
import type { Prepared } from './prepared.js';
import type { ResultHeaders, RpcFaultInfo } from '../../call/result.js';

/**
 * Reading and decoding a response body: size limit, gzip/deflate/br, then `data` by content type
 * (RPC value or fault, JSON, text, Buffer).
 */

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

function header(headers: ResultHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v.join(', ') : (v ?? '')).trim().toLowerCase();
}

/** Whether the body has a `Content-Encoding` to undo. */
export function isEncoded(headers: ResultHeaders): boolean {
  const v = headers['content-encoding'];
  if (v === undefined) return false;
  const encoding = header(headers, 'content-encoding');
  return encoding !== '' && encoding !== 'identity';
}

/** Undo `Content-Encoding`. The limit also bounds the decompressed size (zip bombs). */
export async function decodeContent(raw: Buffer, headers: ResultHeaders, limit: number, node: string): Promise<Buffer> {
  const encoding = header(headers, 'content-encoding');
  if (encoding === '' || encoding === 'identity' || raw.length === 0) return raw;
  const options = { maxOutputLength: limit };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzip(raw, options);
    if (encoding === 'br') return await brotli(raw, options);
    if (encoding === 'deflate') {
      // "deflate" is zlib-wrapped by the RFC, but some servers send it raw; the first byte tells.
      return await ((raw[0]! & 0x0f) === 8 ? inflate(raw, options) : inflateRaw(raw, options));
    }
  } catch (err) {
    const why = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? `decompresses to over max_response_size (${limit} bytes)` : `is not valid ${encoding}`;
    throw new SkitaiError('SKT_CLIENT_RESPONSE', `the response body from ${node} ${why}`, { cause: err });
  }
  throw new SkitaiError('SKT_CLIENT_RESPONSE', `the response from ${node} uses an unsupported Content-Encoding: ${encoding}`);
}

/** What a body becomes: `data`, or a fault, or data plus the reason it could not be parsed as its type says. */
export interface Parsed {
  readonly data: unknown;
  readonly fault?: RpcFaultInfo;
  readonly error?: Error;
}

const TEXT = /^text\/|[/+](json|xml|javascript|ecmascript|x-www-form-urlencoded|csv|yaml)\b|^application\/(x-)?sh\b/;
const JSON_TYPE = /[/+]json\b|^application\/json-rpc\b/;

function charsetOf(type: string): string {
  const m = /;\s*charset="?([\w-]+)"?/.exec(type);
  return m ? m[1]! : 'utf-8';
}

// decode() without { stream: true } keeps no state, so the common UTF-8 decoder is shared.
const UTF8 = new TextDecoder('utf-8');

/** What a response's Content-Type says about its body. */
interface BodyType {
  /** The header, trimmed and lower-cased ('' when absent). */
  readonly type: string;
  readonly form: 'json' | 'text' | 'bytes';
  /** The charset label, lower-cased; `utf-8` when none is given. */
  readonly charset: string;
}

// A member answers with the same Content-Type again and again: the last distinct value is kept
// with what it says, so the two regular expressions run once per new value, not once per response.
let lastRaw: string | undefined;
let lastType: BodyType = { type: '', form: 'bytes', charset: 'utf-8' };

function bodyType(headers: ResultHeaders): BodyType {
  const raw = headers['content-type'];
  if (raw === lastRaw && raw !== undefined) return lastType;
  const type = header(headers, 'content-type');
  const info: BodyType = { type, form: JSON_TYPE.test(type) ? 'json' : TEXT.test(type) ? 'text' : 'bytes', charset: charsetOf(type).toLowerCase() };
  if (typeof raw === 'string') {
    lastRaw = raw;
    lastType = info;
  }
  return info;
}

function toText(body: Buffer, charset: string): string {
  try {
    return (charset === 'utf-8' || charset === 'utf8' ? UTF8 : new TextDecoder(charset)).decode(body);
  } catch {
    return body.toString('utf8'); // an unknown charset label: UTF-8 is the best guess
  }
}

/**
 * `data` for a response. RPC calls parse the RPC body whatever the status, because JSON-RPC servers
 * may send errors with 4xx/5xx; when that fails on a 2xx the body was promised and is broken,
 * which the caller turns into a NETERR (thrown SKT_RPC_RESPONSE); on other statuses the status is
 * the news, so data keeps the text and `error` says why it is not an RPC value.
 */
export function parseData(prepared: Prepared, code: number, headers: ResultHeaders, body: Buffer): Parsed {
  if (body.length === 0 || prepared.method === 'HEAD') return { data: null };
  const info = bodyType(headers);
  if (prepared.kind !== 'http') {
    try {
      return parseRpc(prepared, body);
    } catch (err) {
      if (code >= 200 && code < 300) throw err;
      return { data: toText(body, info.charset), error: err as Error };
    }
  }
  if (info.form === 'json') {
    const text = toText(body, info.charset);
    try {
      return { data: JSON.parse(text) };
    } catch (err) {
      return { data: text, error: new SkitaiError('SKT_CLIENT_RESPONSE', `the body says ${info.type} but is not JSON: ${(err as Error).message}`) };
    }
  }
  return info.form === 'text' ? { data: toText(body, info.charset) } : { data: body };
}

function parseRpc(prepared: Prepared, body: Buffer): Parsed {
  if (prepared.kind === 'xmlrpc') {
    const r = parseMethodResponse(body);
    return 'fault' in r ? { data: null, fault: { code: r.fault.faultCode, message: r.fault.faultString } } : { data: r.value };
  }
  const r = parseResponse(body, prepared.rpcId);
  if ('error' in r) return { data: null, fault: { code: r.error.code, message: r.error.message, ...('data' in r.error ? { data: r.error.data } : {}) } };
  return { data: r.result };
}
