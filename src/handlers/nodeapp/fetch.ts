/**
 * The bridge for a mounted `fetch(request) → Response` handler (Hono, any WinterCG handler):
 * node:http request → WHATWG Request, Response → node:http response. Both bodies stream with
 * backpressure: the app pulls the request body as it reads it, and the response body is written as
 * the client takes it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SkitaiError } from '../../errors.js';

/** What the bridge needs of a fetch handler's answer (a Response, or one from another realm or polyfill). */
interface ResponseLike {
  readonly status: number;
  readonly statusText?: string;
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
}

/**
 * A Request for `req` at `url` (the target with the mount prefix stripped). The app sees the
 * request id in `X-Request-Id` and the stripped prefix in `X-Forwarded-Prefix`, replacing what a
 * client sent in either. A GET or HEAD body is not passed: a Request cannot carry one.
 */
export function toRequest(req: IncomingMessage, url: string, prefix: string, id: string, signal: AbortSignal): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header Node's parser let through but Headers refuses: the app could not have read it either.
    }
  }
  headers.set('x-request-id', id);
  if (prefix === '') headers.delete('x-forwarded-prefix');
  else headers.set('x-forwarded-prefix', prefix);
  const method = req.method ?? 'GET';
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (method !== 'GET' && method !== 'HEAD' && hasBody(req)) {
    // Pulled chunk by chunk: nothing is read before the app asks. Not destroyed when the app stops
    // early (cancel), so the response can still be written on the same connection.
    init.body = ReadableStream.from(req.iterator({ destroyOnReturn: false })) as unknown as ReadableStream;
    init.duplex = 'half';
  }
  try {
    return new Request(`${scheme}://${req.headers.host ?? 'localhost'}${url}`, init);
  } catch (err) {
    throw new SkitaiError('SKT_BAD_REQUEST', `the request cannot be given to a fetch handler: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Write the handler's Response to `res`: status, headers (each Set-Cookie on its own line), then
 * the body streamed. Resolves when it is sent or the client left (the body stream is cancelled
 * then); rejects when the body stream fails, after cutting the response.
 */
export async function sendResponse(res: ServerResponse, answer: unknown, name: string, method: string): Promise<void> {
  if (!isResponse(answer)) {
    throw new SkitaiError('SKT_APP_RETURN', `the fetch handler of ${name} returned ${describe(answer)}, not a Response`);
  }
  const headers: Record<string, string | string[]> = {};
  answer.headers.forEach((value, key) => (headers[key] = value));
  const cookies = typeof answer.headers.getSetCookie === 'function' ? answer.headers.getSetCookie() : [];
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const text = answer.statusText;
  if (text) res.writeHead(answer.status, text, headers);
  else res.writeHead(answer.status, headers);
  const body = answer.body;
  // Node sends no body for these anyway; reading the app's stream would only waste its work.
  if (body === null || method === 'HEAD' || answer.status === 204 || answer.status === 304) {
    if (body !== null) void body.cancel().catch(() => undefined);
    res.end();
    return;
  }
  try {
    await pipeline(Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>), res);
  } catch (err) {
    // The client left: pipeline has cancelled the app's stream, and there is no one to tell.
    if (res.destroyed && !res.writableFinished && (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw err;
  }
}

function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

function isResponse(value: unknown): value is ResponseLike {
  if (value instanceof Response) return true;
  const v = value as Partial<ResponseLike> | null | undefined;
  return typeof v === 'object' && v !== null && typeof v.status === 'number' && typeof v.headers?.forEach === 'function' && 'body' in v;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  return `a ${typeof value}`;
}
