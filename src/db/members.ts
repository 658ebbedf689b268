import net from 'node:net';
import type { MemberSpec } from '../cluster/member.js';

/** One PostgreSQL member: where it listens, which database as whom, and its share of traffic. */
export interface DbMemberSpec extends MemberSpec {
  /** `host:port/dbname`: the `node` of its Results and its name in status (never the user or password). */
  readonly node: string;
  readonly database: string;
  readonly user: string;
  /** Secret: never in a message, a log line or status. Undefined: none given (trust auth, or PGPASSWORD/.pgpass). */
  readonly password: string | undefined;
}

export const DEFAULT_PG_PORT = 5432;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/i;
// host (name, IPv4 or [IPv6]) and optional :port, then /dbname/user and an optional /password
// (everything after the third slash, so a password may hold "/"), then an optional weight.
const MEMBER = /^(\[[^\]\s]+\]|[^\s:/[\]]+)(?::(\d{1,5}))?\/([^/\s]+)\/([^/\s]+)(?:\/(\S*))?(?:\s+(\S+))?$/;
const MAX_WEIGHT = 10_000;

/**
 * `members = host:port/dbname/user/password weight, …` -> specs. Items are separated by commas (or
 * line breaks); the port defaults to 5432, the weight to 1. User and password are percent-decoded
 * (`%2C` for a comma, `%20` for a space, `%25` for "%"), so any password can be written.
 *
 * `fail` gets messages that quote an item only with its password masked as `***`.
 */
export function parseDbMembers(text: string, fail: (message: string) => never): DbMemberSpec[] {
  const items = text.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) fail('"members" is empty');
  const seen = new Set<string>();
  return items.map((item) => {
    const m = MEMBER.exec(item);
    if (!m) return fail(`expected host:port/dbname/user/password or with a weight after a space, got "${maskMember(item)}"`);
    const shown = maskMember(item);
    const rawHost = m[1]!;
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
    if (rawHost.startsWith('[') ? !net.isIPv6(host) : !(net.isIPv4(host) || HOSTNAME.test(host))) {
      fail(`"${rawHost}" is not a host name or IP address (IPv6 goes in brackets: [::1]:5432)`);
    }
    const port = m[2] === undefined ? DEFAULT_PG_PORT : Number(m[2]);
    if (!(port >= 1 && port <= 65535)) fail(`port ${m[2]} of "${shown}" is out of range 1-65535`);
    const weight = m[6] === undefined ? 1 : Number(m[6]);
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) fail(`weight of "${shown}" must be a whole number from 1 to ${MAX_WEIGHT}`);
    const database = decode(m[3]!, () => fail(`the database name of "${shown}" has a bad %-escape`));
    const user = decode(m[4]!, () => fail(`the user of "${shown}" has a bad %-escape`));
    const password = m[5] === undefined || m[5] === '' ? undefined : decode(m[5], () => fail(`the password of "${shown}" has a bad %-escape (write "%" as %25)`));
    const node = `${rawHost}:${port}/${database}`;
    const key = `${host.toLowerCase()}:${port}/${database}/${user}`;
    if (seen.has(key)) fail(`member ${node} (user ${user}) is listed twice`);
    seen.add(key);
    return { host, port, weight, node, database, user, password };
  });
}

function decode(text: string, bad: () => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return bad();
  }
}

/** A member item with its password replaced by `***`, for messages. */
export function maskMember(item: string): string {
  // The password is whatever follows the third "/" up to the whitespace before a weight.
  return item.replace(/^([^/]*\/[^/]*\/[^/\s]*\/)(\S+)/, '$1***');
}

export { maskSecret } from '../transport/pg/secret.js';
