/**
 * `multipart/form-data` bodies: busboy parses, text fields stay in memory, files are spooled to
 * temp files. On any failure every temp file already created is removed before the promise rejects,
 * so a caller never has to clean up after an error.
 */
import type { IncomingMessage } from 'node:http';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type busboy from 'busboy';
import { SkitaiError } from '../errors.js';

let busboyLib: typeof busboy | undefined;
/** busboy, loaded by the first multipart body: most sites never see one. */
function loadBusboy(): typeof busboy {
  return (busboyLib ??= createRequire(import.meta.url)('busboy') as typeof busboy);
}

/** A file received in a multipart form, spooled to a temp file. */
export interface UploadedFile {
  /** The part's Content-Type as the client sent it (busboy defaults it to text/plain). */
  mimetype: string;
  /** Path of the temp file holding the content (mode 0o600, unguessable name). */
  local: string;
  /** The client's file name without any directory part; '' when the client sent none. */
  remote: string;
  /** Bytes written to `local`. */
  size: number;
  /** The form field name the file arrived under. */
  field: string;
}

/** What a multipart body held: fields and files in arrival order, and the files alone. */
export interface MultipartResult {
  entries: Array<[name: string, value: string | UploadedFile]>;
  files: UploadedFile[];
}

/** Bounds for one multipart body. */
export interface MultipartLimits {
  /** All bytes of the body, boundaries and headers included. */
  maxUpload: number;
  /** Bytes of text field values kept in memory, all fields together. */
  maxFieldBytes: number;
  maxFields?: number | undefined;
  maxFiles?: number | undefined;
  tmpDir: string;
}

interface Spool {
  src: Readable;
  sink: ReturnType<typeof createWriteStream>;
  closed: Promise<void>;
}

/**
 * Stream a multipart body through busboy into temp files. Rejects with SKT_BODY_TOO_LARGE (413),
 * SKT_BODY_MALFORMED (400), SKT_BODY_ABORTED (400) or SKT_BODY_SPOOL (500).
 */
export function readMultipart(req: IncomingMessage, limits: MultipartLimits): Promise<MultipartResult> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = loadBusboy()({
        headers: req.headers,
        // filenames are UTF-8 in every client that matters (browsers, curl, undici)
        defParamCharset: 'utf8',
        limits: {
          // one past the cap so a value of exactly maxFieldBytes is not reported as truncated
          fieldSize: limits.maxFieldBytes + 1,
          fields: limits.maxFields ?? Infinity,
          files: limits.maxFiles ?? Infinity,
        },
      });
    } catch (err) {
      // busboy throws synchronously for a missing or unusable boundary
      reject(new SkitaiError('SKT_BODY_MALFORMED', `bad multipart Content-Type: ${(err as Error).message}`, { cause: err }));
      return;
    }

    const entries: MultipartResult['entries'] = [];
    const files: UploadedFile[] = [];
    const spools: Spool[] = [];
    let total = 0;
    let fieldBytes = 0;
    let failed = false;

    const detach = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };

    const fail = (err: SkitaiError): void => {
      if (failed) return;
      failed = true;
      detach();
      // stop pulling bytes; the engine answers with Connection: close because the body is unread
      req.pause();
      bb.destroy();
      for (const s of spools) {
        s.src.destroy();
        s.sink.destroy();
      }
      // unlink only after every sink has closed: a sink still opening would recreate its file
      void Promise.all(spools.map((s) => s.closed))
        .then(() => cleanupFiles(files))
        .then(() => reject(err));
    };

    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limits.maxUpload) {
        fail(tooLarge(`the upload exceeds ${limits.maxUpload} bytes`));
        return;
      }
      // busboy holds its write callback while a file sink is full, so this carries disk backpressure
      if (!bb.write(chunk)) req.pause();
    };
    const onEnd = (): void => {
      bb.end();
    };
    const onError = (err: Error): void => fail(aborted(err));
    const onClose = (): void => {
      if (!req.complete) fail(aborted());
    };

    bb.on('drain', () => {
      if (!failed) req.resume();
    });
    bb.on('error', (err: unknown) => {
      fail(new SkitaiError('SKT_BODY_MALFORMED', `bad multipart body: ${(err as Error).message}`, { cause: err }));
    });
    bb.on('fieldsLimit', () => fail(tooLarge(`the form has more than ${limits.maxFields} fields`)));
    bb.on('filesLimit', () => fail(tooLarge(`the form has more than ${limits.maxFiles} files`)));

    bb.on('field', (name, value, info) => {
      if (failed) return;
      fieldBytes += Buffer.byteLength(value);
      if (info.valueTruncated || fieldBytes > limits.maxFieldBytes) {
        fail(tooLarge(`the form fields exceed ${limits.maxFieldBytes} bytes`));
        return;
      }
      // a part without a name cannot become an argument
      if (name !== undefined) entries.push([name, value]);
    });

    bb.on('file', (name, src, info) => {
      if (failed || name === undefined) {
        src.resume();
        return;
      }
      const file: UploadedFile = {
        mimetype: info.mimeType,
        local: join(limits.tmpDir, `skitai-upload-${randomUUID()}`),
        remote: info.filename ?? '',
        size: 0,
        field: name,
      };
      files.push(file);
      entries.push([name, file]);
      const sink = createWriteStream(file.local, { flags: 'wx', mode: 0o600 });
      const closed = new Promise<void>((done) => sink.once('close', done));
      spools.push({ src, sink, closed });
      pipeline(src, sink).then(
        () => {
          file.size = sink.bytesWritten;
        },
        (err: unknown) => {
          // a sink error carries an errno code (ENOSPC, EACCES…); busboy's own errors do not
          const code = (err as NodeJS.ErrnoException).code;
          fail(
            code !== undefined && code !== 'ERR_STREAM_PREMATURE_CLOSE'
              ? new SkitaiError('SKT_BODY_SPOOL', `cannot write an uploaded file: ${code}`, { cause: err })
              : new SkitaiError('SKT_BODY_MALFORMED', `bad multipart body: ${(err as Error).message}`, { cause: err }),
          );
        },
      );
    });

    bb.on('finish', () => {
      // busboy is done once every file stream has ended; the sinks may still be flushing
      void Promise.all(spools.map((s) => s.closed)).then(() => {
        if (failed) return;
        detach();
        // an empty <input type=file> arrives as filename="" (busboy: undefined) with no content
        const empty = files.filter((f) => f.remote === '' && f.size === 0);
        if (empty.length === 0) {
          resolve({ entries, files });
          return;
        }
        void cleanupFiles(empty).then(() =>
          resolve({
            entries: entries.filter(([, v]) => !empty.includes(v as UploadedFile)),
            files: files.filter((f) => !empty.includes(f)),
          }),
        );
      });
    });

    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** Delete temp files; missing files are fine (an app may have moved them). Never rejects. */
export async function cleanupFiles(files: readonly UploadedFile[]): Promise<void> {
  await Promise.allSettled(files.map((f) => rm(f.local, { force: true })));
}

function tooLarge(message: string): SkitaiError {
  return new SkitaiError('SKT_BODY_TOO_LARGE', message);
}

function aborted(cause?: unknown): SkitaiError {
  return new SkitaiError('SKT_BODY_ABORTED', undefined, cause === undefined ? undefined : { cause });
}
