import net from 'node:net';

/** The protocol's CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Ask a PostgreSQL server to cancel what backend `pid` is running: a fresh connection carrying one
 * CancelRequest message (no authentication; the backend's secret key proves the right). The server
 * answers by closing the connection; the cancelled query then fails with SQLSTATE 57014 on its own
 * connection. Resolves true when the request was written, false when the server could not be
 * reached within `timeoutMs`; never rejects.
 */
export function sendCancel(host: string, port: number, pid: number, secretKey: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const message = Buffer.alloc(16);
    message.writeInt32BE(16, 0);
    message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    message.writeInt32BE(pid, 8);
    message.writeInt32BE(secretKey, 12);
    let written = false;
    const socket = net.connect({ host, port });
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(written);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.once('connect', () => socket.write(message, () => (written = true)));
    socket.once('close', finish);
    socket.once('error', finish);
  });
}
