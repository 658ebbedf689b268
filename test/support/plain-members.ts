/** Handler-driven node:http members for proxy tests (members.ts has the scripted RPC/REST ones). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real node:http server on 127.0.0.1 and an ephemeral port, standing in for a cluster member. */
export interface Member {
  readonly server: http.Server;
  readonly port: number;
  /** `127.0.0.1:port`, as a `members =` line and a Result's `node` write it. */
  readonly node: string;
  /** Requests that reached the member. */
  hits: number;
  /** Stop listening and cut every connection (idempotent). */
  close(): Promise<void>;
}

/** Answers a request once its whole body has arrived. */
export type MemberHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** Members started by one test file, closed together in its after(). */
export class Members {
  readonly #all: Member[] = [];

  async start(handler: MemberHandler): Promise<Member> {
    const server = http.createServer((req, res) => {
      m.hits++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    let closed: Promise<void> | undefined;
    const m: Member = {
      server,
      port,
      node: `127.0.0.1:${port}`,
      hits: 0,
      close: () =>
        (closed ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        })),
    };
    this.#all.push(m);
    return m;
  }

  /** `127.0.0.1:port` where nothing listens (a member that was closed). */
  async dead(): Promise<string> {
    const m = await this.start(() => undefined);
    await m.close();
    return m.node;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#all.map((m) => m.close()));
  }
}

/** A member answering with what it saw, as JSON: method, url, headers, body (latin1), its peer port. */
export const echo: MemberHandler = (req, res, body) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('latin1'), port: req.socket.remotePort }));
};
