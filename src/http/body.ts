/**
 * Request bodies: read under a size limit, parse by Content-Type into handler arguments.
 *
 * Every failure is a thrown SkitaiError whose `status` the engine sends. After a failure the body may
 * be partly unread (`req.complete === false`): the engine must then answer with `Connection: close`,
 * since the connection cannot be reused for another request.
 */
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { SkitaiError } from '../errors.js';
import { readMultipart, type UploadedFile } from './multipart.js';

export { cleanupFiles, type UploadedFile } from './multipart.js';

/** Byte and count bounds for request bodies. */
export interface BodyLimits {
  /** Bytes of any non-multipart body (form, JSON, raw). Skitai's default is 5 MiB. */
  maxBody: number;
  /** Bytes of a whole multipart body, boundaries included. Skitai's default is 2 GiB. */
  maxUpload: number;
  /** Text fields of a form (urlencoded or multipart); no bound when absent. */
  maxFields?: number | undefined;
  /** Files of a multipart form; no bound when absent. */
  maxFiles?: number | undefined;
  /** Where uploads are spooled; os.tmpdir() when absent. */
  tmpDir?: string | undefined;
}

/** Skitai's limits (5 MiB form, 2 GiB upload) plus count bounds the original lacked. */
export const DEFAULT_BODY_LIMITS: Readonly<BodyLimits> = Object.freeze({
  maxBody: 5 * 1024 * 1024,
  maxUpload: 2 * 1024 * 1024 * 1024,
  maxFields: 1000,
  maxFiles: 100,
});

/** One value of a form argument; a repeated name gives an array of them in arrival order. */
export type FieldValue = string | UploadedFile;

/** A parsed request body. */
export interface ParsedBody {
  /**
   * Handler arguments, in an object without prototype (so `__proto__` or `constructor` are plain
   * names). Forms give FieldValue or FieldValue[]; a JSON object gives its members as they are.
   */
  args: Record<string, unknown>;
  /** The bytes of any non-multipart body (absent for multipart and for no body). */
  raw?: Buffer;
  /** The parsed value of a JSON body, whatever its top level (an array, a string…). */
  json?: unknown;
  /** Uploaded files (multipart only); the engine passes them to cleanupFiles after the response. */
  files: UploadedFile[];
}

const EMPTY = Buffer.alloc(0);

/**
 * Read and parse the body of `req` according to its Content-Type:
 * urlencoded and multipart/form-data fill `args` (repeated names become arrays), a JSON object
 * gives its members as `args` and any JSON value as `json`, other types give `raw` only.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<ParsedBody> {
  if (!hasBody(req)) return { args: Object.create(null) as Record<string, unknown>, files: [] };
  const type = mediaType(req.headers['content-type']);

  if (type === 'multipart/form-data') {
    checkDeclared(req, limits.maxUpload);
    const { entries, files } = await readMultipart(req, {
      maxUpload: limits.maxUpload,
      maxFieldBytes: limits.maxBody,
      maxFields: limits.maxFields,
      maxFiles: limits.maxFiles,
      tmpDir: limits.tmpDir ?? tmpdir(),
    });
    const args: Record<string, unknown> = Object.create(null);
    for (const [name, value] of entries) addArg(args, name, value);
    return { args, files };
  }

  const raw = await readRaw(req, limits.maxBody);
  if (type === 'application/x-www-form-urlencoded') {
    return { args: formArgs(raw.toString('utf8'), limits.maxFields), raw, files: [] };
  }
  if (isJson(type) && raw.length > 0) {
    const json = parseJson(raw);
    const args: Record<string, unknown> = Object.create(null);
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) Object.assign(args, json);
    return { args, raw, json, files: [] };
  }
  return { args: Object.create(null) as Record<string, unknown>, raw, files: [] };
}

/**
 * Read the whole body as one Buffer, at most `max` bytes: a larger Content-Length is refused before
 * any byte is read, a chunked body is cut off (and left unread) as soon as it passes `max`.
 */
export function readRaw(req: IncomingMessage, max: number): Promise<Buffer> {
  if (!hasBody(req)) return Promise.resolve(EMPTY);
  try {
    checkDeclared(req, max);
  } catch (err) {
    return Promise.reject(err);
  }
  if (req.destroyed && !req.complete) return Promise.reject(aborted());
  // someone else consumed it; waiting for 'end' again would hang
  if (req.readableEnded) return Promise.resolve(EMPTY);

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Made in an array, not as `const onData = …`: under tsx each named closure also pays a __name
    // (defineProperty) call per request. (A class holding the listeners instead kept each request's
    // objects alive past two scavenges: old space grew by ~20 MB/s under POST load.)
    const [onData, onEnd, onError, onClose, settle] = [
      (chunk: Buffer): void => {
        size += chunk.length;
        if (size > max) settle(new SkitaiError('SKT_BODY_TOO_LARGE', `the body exceeds ${max} bytes`));
        else chunks.push(chunk);
      },
      (): void => settle(undefined),
      (err: Error): void => settle(aborted(err)),
      (): void => {
        if (!req.complete) settle(aborted());
      },
      (err: SkitaiError | undefined): void => {
        req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
        if (err) {
          req.pause();
          reject(err);
        } else {
          resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        }
      },
    ] as const;
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * Arguments from a query string (with or without its leading `?`); repeated names become arrays.
 * Percent-decoding is lenient, as in URLSearchParams: a bad escape stays as written.
 */
export function queryArgs(search: string): Record<string, string | string[]> {
  if (search === '' || search === '?') return Object.create(null) as Record<string, string | string[]>;
  return formArgs(search) as Record<string, string | string[]>;
}

/** True when the request carries a body: chunked, a Content-Length above 0, or (h2) DATA after its HEADERS. */
export function hasBody(req: IncomingMessage): boolean {
  // node's parser has already rejected a bad or conflicting Content-Length / Transfer-Encoding
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.httpVersionMajor === 2 && h2Body(req);
}

/**
 * An h2 request without Content-Length may still carry a body: h2 has no chunked coding, the body is
 * whatever DATA frames follow until END_STREAM (RFC 9113 §8.1). HEADERS that ended the stream mean none.
 */
export function h2Body(req: IncomingMessage): boolean {
  return (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
}

function checkDeclared(req: IncomingMessage, max: number): void {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > max) {
    throw new SkitaiError('SKT_BODY_TOO_LARGE', `Content-Length ${length} exceeds ${max} bytes`);
  }
}

/** `Text/HTML; charset=x` -> `text/html`; '' when absent. */
function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function isJson(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

function parseJson(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  // JSON.parse rejects the BOM some Windows tools write
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SkitaiError('SKT_BODY_MALFORMED', `invalid JSON body: ${(err as Error).message}`, { cause: err });
  }
}

function formArgs(text: string, maxFields?: number): Record<string, unknown> {
  const args: Record<string, unknown> = Object.create(null);
  let count = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    if (maxFields !== undefined && ++count > maxFields) {
      throw new SkitaiError('SKT_BODY_TOO_LARGE', `the form has more than ${maxFields} fields`);
    }
    addArg(args, name, value);
  }
  return args;
}

function addArg(args: Record<string, unknown>, name: string, value: unknown): void {
  const prev = args[name];
  if (prev === undefined) args[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else args[name] = [prev, value];
}

function aborted(cause?: unknown): SkitaiError {
  return new SkitaiError('SKT_BODY_ABORTED', undefined, cause === undefined ? undefined : { cause });
}
