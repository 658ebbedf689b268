import net from 'node:net';
import { SkitaiError } from '../errors.js';

/**
 * Decides the client address. `X-Forwarded-For` is believed only when the socket peer is a
 * trusted proxy, and then only up to the first untrusted hop from the right: anything left of it
 * was written by the client and may be forged.
 */
export class ClientIp {
  readonly #trusted: net.BlockList | undefined;

  /** `trusted` holds IPs or CIDRs (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`). */
  constructor(trusted: readonly string[]) {
    if (trusted.length === 0) return;
    this.#trusted = addressList(trusted, 'trusted_proxies');
  }

  /** The client address for a socket peer and its X-Forwarded-For header. */
  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    const ip = unmap(peer ?? '');
    if (!this.#trusted || !forwardedFor || !this.#isTrusted(ip)) return ip;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmap(hops[i]!.trim());
      if (!net.isIP(hop)) return ip;
      if (!this.#isTrusted(hop)) return hop;
    }
    return unmap(hops[0]!.trim());
  }

  /** True when the socket peer is a trusted proxy (whose X-Request-Id, for one, is believed). */
  trusts(peer: string | undefined): boolean {
    return this.#trusted !== undefined && this.#isTrusted(unmap(peer ?? ''));
  }

  #isTrusted(ip: string): boolean {
    return inList(this.#trusted!, ip);
  }
}

/** A BlockList of IPs and CIDRs (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`); `key` names the setting in errors. */
export function addressList(entries: readonly string[], key: string): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const family = net.isIPv6(addr) ? 'ipv6' : net.isIPv4(addr) ? 'ipv4' : undefined;
    if (!family) throw new SkitaiError('SKT_CONFIG_VALUE', `${key}: "${entry}" is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr, family);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) {
        throw new SkitaiError('SKT_CONFIG_VALUE', `${key}: "${entry}" has a bad prefix length`);
      }
      list.addSubnet(addr, prefix, family);
    }
  }
  return list;
}

/** True when `ip` (unmapped first) is in `list`; false for text that is no IP address. */
export function inList(list: net.BlockList, ip: string): boolean {
  const addr = unmap(ip);
  const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
  return family !== undefined && list.check(addr, family);
}

const PEER = Symbol('skitai.peer');
type PeerTagged = net.Socket & { [PEER]?: string };

/**
 * The socket peer's address, IPv4-mapped addresses unmapped ('' when the socket is gone). Read from
 * the socket once per connection and kept on it: `remoteAddress` asks the native handle each time,
 * a measurable part of the engine's own work per request (docs/performance.md).
 */
export function peerOf(socket: net.Socket): string {
  const kept = (socket as PeerTagged)[PEER];
  if (kept !== undefined) return kept;
  const address = socket.remoteAddress;
  const peer = unmap(address ?? '');
  // Only a real socket keeps it (an h2 request's socket is a proxy of its session's).
  if (address !== undefined && socket instanceof net.Socket) (socket as PeerTagged)[PEER] = peer;
  return peer;
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`, so IPv4 rules match dual-stack sockets. */
export function unmap(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}
