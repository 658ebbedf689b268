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

/** Raw h2 frames (RFC 9113 §4.1), for clients that misbehave on purpose. */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/**
 * `GET /` over http, HPACK-coded without state: the static table's :method GET, :scheme http, :path /
 * (RFC 7541 Appendix A), and :authority `localhost` as a literal that is not indexed.
 */
export const GET_ROOT = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, 9]), Buffer.from('localhost')]);
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;

/** A request's HEADERS block without HPACK state: `method` (GET indexed, others literal), :scheme http, `path`, :authority localhost. */
export function requestBlock(method: string, path: string): Buffer {
  const literal = (index: number, value: string): Buffer => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  return Buffer.concat([method === 'GET' ? Buffer.from([0x82]) : literal(2, method), Buffer.from([0x86]), literal(4, path), literal(1, 'localhost')]);
}

/** The frames in `data` as [type, flags, stream, payload]; stops at an incomplete one. */
export function readFrames(data: Buffer): { type: number; flags: number; stream: number; payload: Buffer }[] {
  const out: { type: number; flags: number; stream: number; payload: Buffer }[] = [];
  for (let at = 0; at + 9 <= data.length; ) {
    const length = data.readUIntBE(at, 3);
    if (at + 9 + length > data.length) break;
    out.push({ type: data[at + 3]!, flags: data[at + 4]!, stream: data.readUInt32BE(at + 5) & 0x7fffffff, payload: data.subarray(at + 9, at + 9 + length) });
    at += 9 + length;
  }
  return out;
}
