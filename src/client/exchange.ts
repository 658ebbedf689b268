import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { SkitaiError, isSkitaiError } from '../errors.js';
import { classify, type Failure } from './failure.js';
import type { Prepared } from './request.js';
import { decodeContent, parseData, readBody } from './response.js';
import { Result, type ResultHeaders } from './result.js';
import { Status } from './status.js';

/** Where and how one attempt is sent. */
export interface Endpoint {
  readonly dispatcher: Dispatcher;
  /** `http://host:port` or `https://host:port`. */
  readonly origin: string;
  /** `host:port`, for Results and messages. */
  readonly node: string;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly maxResponseSize: number;
}

/** One attempt's end: a Result, and for failures whether the request may have arrived. */
export type Attempt = { readonly ok: true; readonly result: Result } | ({ readonly ok: false } & Failure);

/**
 * Send one prepared request to one endpoint and read the whole answer. Never rejects: every
 * failure becomes a TIMEOUT/NETERR Result. `signal` aborts it (its reason is a CallAbort).
 */
export async function exchange(endpoint: Endpoint, prepared: Prepared, signal: AbortSignal): Promise<Attempt> {
  const started = performance.now();
  const { node } = endpoint;
  let code = 0;
  try {
    const res = await endpoint.dispatcher.request({
      origin: endpoint.origin,
      path: prepared.path,
      method: prepared.method as Dispatcher.HttpMethod,
      headers: prepared.headers,
      body: prepared.body ?? null,
      signal,
      headersTimeout: endpoint.responseTimeout,
      bodyTimeout: endpoint.responseTimeout,
    });
    code = res.statusCode;
    const header = res.headers as ResultHeaders;
    const raw = await readBody(res.body, endpoint.maxResponseSize, node);
    const body = await decodeContent(raw, header, endpoint.maxResponseSize, node);
    const parsed = parseData(prepared, code, header, body);
    const result = new Result({
      status: Status.NORMAL,
      code,
      msg: STATUS_CODES[code] ?? '',
      node,
      header,
      data: parsed.data,
      ...(parsed.fault ? { fault: parsed.fault } : {}),
      ...(parsed.error ? { error: parsed.error } : {}),
      elapsed: performance.now() - started,
    });
    return { ok: true, result };
  } catch (err) {
    // A broken body after a good status: say which status came with it (an HTML page behind a 200…).
    const cause = code && isSkitaiError(err) && err.code !== 'SKT_CLIENT_RESPONSE' ? new SkitaiError(err.code, `HTTP ${code} from ${node}: ${err.message}`, { cause: err }) : err;
    const failure = classify(signal.aborted ? (signal.reason ?? err) : cause, endpoint);
    failure.result.elapsed = performance.now() - started;
    return { ok: false, ...failure };
  }
}
