/** A small client over node's own http2 client, for the h2 tests (curl --http2 is the other one). */
import http2 from 'node:http2';

export interface H2Got {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** Connect to `base` (https: trusting `ca`, or http: h2c with prior knowledge). */
export function h2Connect(base: string, ca?: Buffer): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base, ca ? { ca } : {});
    session.once('connect', () => {
      session.off('error', reject);
      resolve(session);
    });
    session.once('error', reject);
  });
}

/** One request on `session`; resolves with the whole response. */
export function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
  options: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<H2Got> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': options.method ?? 'GET', ':path': path, ...options.headers }, { endStream: options.body === undefined });
    let head: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (options.body !== undefined) stream.end(options.body);
  });
}
