import { once } from 'node:events';
import WebSocket from 'ws';

/**
 * A `ws` client for tests whose messages are queued from the moment it is made, so a message the
 * server sends right after the handshake (from `open`) is not missed by a listener added later.
 */
export class WsTestClient {
  readonly ws: WebSocket;
  readonly #queue: [string | Buffer, boolean][] = [];
  #waiting: (() => void) | undefined;
  /** Set once the socket closed: the code and reason received. */
  closedWith: { code: number; reason: string } | undefined;
  readonly #closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols, options);
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#queue.push([isBinary ? data : data.toString(), isBinary]);
      this.#waiting?.();
    });
    this.#closed = new Promise((resolve) =>
      this.ws.once('close', (code: number, reason: Buffer) => {
        this.closedWith = { code, reason: reason.toString() };
        this.#waiting?.();
        resolve(this.closedWith);
      }),
    );
  }

  /** Open a client; resolves once the handshake succeeded. */
  static async open(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<WsTestClient> {
    const c = new WsTestClient(url, options, protocols);
    await once(c.ws, 'open');
    return c;
  }

  /** The next message as [text or Buffer, isBinary]; rejects if the socket closes first. */
  async next(): Promise<[string | Buffer, boolean]> {
    while (this.#queue.length === 0) {
      if (this.closedWith) throw new Error(`closed (${this.closedWith.code}) while waiting for a message`);
      await new Promise<void>((resolve) => (this.#waiting = resolve));
      this.#waiting = undefined;
    }
    return this.#queue.shift()!;
  }

  /** Messages received and not yet taken. */
  get pending(): number {
    return this.#queue.length;
  }

  send(data: string | Buffer, options?: { fin?: boolean; binary?: boolean }): void {
    this.ws.send(data, options ?? {});
  }

  close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    if (!this.closedWith) this.ws.close(code, reason);
    return this.#closed;
  }

  /** Resolves with the close code and reason, whoever closed. */
  closed(): Promise<{ code: number; reason: string }> {
    return this.#closed;
  }
}

/** The handshake's HTTP status when the server refuses it. */
export async function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {});
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number; resume(): void }];
  res.resume();
  ws.terminate();
  return res.statusCode;
}
