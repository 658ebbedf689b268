import net from 'node:net';
import type { MemberSpec } from './member.js';

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/i;
// host (name, IPv4 or [IPv6]), optional :port, optional whitespace + weight.
const MEMBER = /^(\[[^\]\s]+\]|[^\s:[\]]+)(?::(\d{1,5}))?(?:\s+(\S+))?$/;
const MAX_WEIGHT = 10_000;

/**
 * `members = host:port weight, host:port, …` -> specs. Items are separated by commas (or line
 * breaks of a continued value); the weight follows a space and defaults to 1; the port defaults to
 * `defaultPort`. Calls `fail` with a message quoting the bad item; duplicates are refused because
 * two entries for one address would silently double its share.
 */
export function parseMembers(text: string, defaultPort: number, fail: (message: string) => never): MemberSpec[] {
  const items = text.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) fail('"members" is empty');
  const seen = new Set<string>();
  return items.map((item) => {
    const m = MEMBER.exec(item);
    if (!m) return fail(`expected host:port or host:port weight, got "${item}"`);
    const rawHost = m[1]!;
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
    if (rawHost.startsWith('[') ? net.isIPv6(host) === false : !(net.isIPv4(host) || HOSTNAME.test(host))) {
      fail(`"${rawHost}" is not a host name or IP address (IPv6 goes in brackets: [::1]:8080)`);
    }
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (!(port >= 1 && port <= 65535)) fail(`port ${m[2]} of "${item}" is out of range 1-65535`);
    const weight = m[3] === undefined ? 1 : Number(m[3]);
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) fail(`weight of "${item}" must be a whole number from 1 to ${MAX_WEIGHT}`);
    const key = `${host.toLowerCase()}:${port}`;
    if (seen.has(key)) fail(`member ${rawHost}:${port} is listed twice`);
    seen.add(key);
    return { host, port, weight };
  });
}
