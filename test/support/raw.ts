import net from 'node:net';

/** A raw HTTP exchange: what the server wrote back before closing (or before `idleMs` of silence). */
export interface RawReply {
  text: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** True when the server closed the connection. */
  closed: boolean;
}

/**
 * Send bytes exactly as given (no client normalising the path or headers) and collect the reply.
 * Resolves when the server closes the socket or after `idleMs` without data. `localAddress` picks
 * the client's source address (any 127.x.y.z works on Linux), for access-control tests. `halfClose`
 * ends the client's side after the payload (what `printf … | nc -N` does), the reply is still read.
 */
export function rawRequest(
  port: number,
  payload: string | Buffer,
  idleMs = 300,
  options: { localAddress?: string; halfClose?: boolean } = {},
): Promise<RawReply> {
  const { halfClose, ...connect } = options;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfClose === true, ...connect });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseReply(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    socket.on('connect', () => {
      if (halfClose) socket.end(payload);
      else socket.write(payload);
      arm();
    });
    socket.on('data', (d) => {
      chunks.push(d);
      arm();
    });
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('error', (err) => {
      if (chunks.length > 0 || (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
        closed = true;
        done();
      } else reject(err);
    });
  });
}

/** Split a raw response into status, headers (lower-case names, last wins) and body. */
export function parseReply(text: string, closed = false): RawReply {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { text, status: Number(statusLine.split(' ')[1] ?? 0), headers, body: end < 0 ? '' : text.slice(end + 4), closed };
}
