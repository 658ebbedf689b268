/** An SMTP relay: where one delivery attempt connects, and how it logs in. */
import { parseHostPort as parseHostPortOf } from '../config/values.js';

/** A relay. `password` is a secret: {@link describeServer} is the only way it is shown (never). */
export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** SMTPS (TLS from the first byte). */
  readonly ssl: boolean;
}

/** `host:port`, `[v6]:port` or a bare host (port 25). Undefined for anything else. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  return parseHostPortOf(text, 25);
}

/** `user@host:port (ssl)` for log lines: never the password. */
export function describeServer(server: SmtpServer): string {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  return `${server.user !== undefined ? `${server.user}@` : ''}${host}:${server.port}${server.ssl ? ' (ssl)' : ''}`;
}
