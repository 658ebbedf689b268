/** An SMTP relay: where one delivery attempt connects, and how it logs in. */
import net from 'node:net';

/** A relay. `password` is a secret: {@link describeServer} is the only way it is shown (never). */
export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** SMTPS (TLS from the first byte). */
  readonly ssl: boolean;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** `host:port`, `[v6]:port` or a bare host (port 25). Undefined for anything else. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const t = text.trim();
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t) ?? /^([^:\s]+)(?::(\d{1,5}))?$/.exec(t);
  if (!m) return undefined;
  const host = m[1]!;
  const port = m[2] === undefined ? 25 : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  if (net.isIP(host) === 0 && !HOSTNAME.test(host)) return undefined;
  return { host, port };
}

/** `user@host:port (ssl)` for log lines: never the password. */
export function describeServer(server: SmtpServer): string {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  return `${server.user !== undefined ? `${server.user}@` : ''}${host}:${server.port}${server.ssl ? ' (ssl)' : ''}`;
}
