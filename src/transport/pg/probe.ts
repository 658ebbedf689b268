import { pg } from './pg.js';
import type { DbTarget } from './query.js';

/**
 * One active health check of a member: a fresh connection (so a pool whose every connection is
 * busy does not read as a dead server) that logs in and runs `SELECT 1`. Healthy when that
 * answers before `signal` aborts; a login refused counts as unhealthy too (the member cannot
 * serve this cluster). Never rejects.
 */
export async function probeMember(target: DbTarget, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const client = new (pg().Client)({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    ...(target.password !== undefined ? { password: target.password } : {}),
    connectionTimeoutMillis: timeoutMs,
    application_name: 'skitai-health',
  });
  client.on('error', () => {}); // a dying server may error the client after the probe decided
  const onAbort = (): void => {
    const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    const res = await client.query('SELECT 1 AS ok');
    return res.rows[0]?.ok === 1;
  } catch {
    return false;
  } finally {
    signal.removeEventListener('abort', onAbort);
    void client.end().catch(() => {});
  }
}
