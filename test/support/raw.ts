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
 * Resolves when the server closes the socket, or `idleMs` after the last complete response when the
 * server keeps the connection open (more responses, or tunnel bytes after a CONNECT 200, may follow).
 * Silence before a response is complete is never taken for the end: a loaded machine may take
 * seconds to answer, so only a 10 s bound applies then. `localAddress` picks the client's source
 * address (any 127.x.y.z works on Linux), for access-control tests. `halfClose` ends the client's
 * side after the payload (what `printf … | nc -N` does), the reply is still read.
 */
export function rawRequest(
  port: number,
  payload: string | Buffer,
  idleMs = 300,
  options: { localAddress?: string; halfClose?: boolean } = {},
): Promise<RawReply> {
  const { halfClose, ...connect } = options;
  const method = /^[A-Z]+/.exec(payload.toString('latin1'))?.[0] ?? '';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfClose === true, ...connect });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(bound);
      socket.destroy();
      resolve(parseReply(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const bound = setTimeout(done, Math.max(idleMs, 10_000));
    socket.on('connect', () => {
      if (halfClose) socket.end(payload);
      else socket.write(payload);
    });
    socket.on('data', (d) => {
      chunks.push(d);
      clearTimeout(timer);
      // A response that announced the close is waited for to the close; a complete keep-alive one
      // gets `idleMs` for whatever follows; an incomplete one is waited for whatever it takes.
      if (replyState(Buffer.concat(chunks).toString('latin1'), method) === 'open') timer = setTimeout(done, idleMs);
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

/**
 * Where a stream of responses to `method` requests stands: `open` when every response in it is
 * complete and none announced a close (or a CONNECT was answered 2xx: tunnel bytes follow),
 * `closing` when a complete one said `Connection: close`, `partial` when the last is incomplete.
 */
export function replyState(text: string, method: string): 'open' | 'closing' | 'partial' {
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) return 'partial';
    const reply = parseReply(text.slice(at, end + 4));
    const bodyStart = end + 4;
    if (method === 'CONNECT' && reply.status >= 200 && reply.status < 300) return 'open';
    let bodyEnd: number;
    if (method === 'HEAD' || reply.status < 200 || reply.status === 204 || reply.status === 304) bodyEnd = bodyStart;
    else if (reply.headers['content-length'] !== undefined) bodyEnd = bodyStart + Number(reply.headers['content-length']);
    else if (/chunked/i.test(reply.headers['transfer-encoding'] ?? '')) {
      const last = text.startsWith('0\r\n\r\n', bodyStart) ? bodyStart - 2 : text.indexOf('\r\n0\r\n\r\n', bodyStart);
      if (last < 0) return 'partial';
      bodyEnd = last + 7;
    } else return 'partial'; // delimited by the close
    if (text.length < bodyEnd) return 'partial';
    if (/close/i.test(reply.headers.connection ?? '')) return 'closing';
    at = bodyEnd;
  }
  return 'open';
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
