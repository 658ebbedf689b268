import { SkitaiError } from '../../errors.js';
import type { Exchange } from '../../http/handler.js';

/**
 * Hold a chunked request body to `limit` bytes while a mounted app reads it as it likes. The
 * chunks are counted as Node's parser pushes them into the request (they reach the app untouched,
 * and nothing is read that the app does not read). Once the body passes the limit the request is
 * destroyed with SKT_BODY_TOO_LARGE, which cuts the connection: the app's body reader fails, and the
 * client sees the connection close. No 413 is sent: the app owns the response and may already be
 * writing it (a Content-Length over the limit gets its 413 before the app sees the request).
 */
export function limitChunkedBody(ex: Exchange, limit: number, onCut: (err: SkitaiError) => void): void {
  const req = ex.req;
  const push = req.push;
  let size = 0;
  req.push = function (this: typeof req, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.push = push;
        const err = new SkitaiError('SKT_BODY_TOO_LARGE', `the chunked request body passed ${limit} bytes`);
        onCut(err);
        req.destroy(err);
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
}
