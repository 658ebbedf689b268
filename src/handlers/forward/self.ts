import net from 'node:net';
import os from 'node:os';

/**
 * How the proxy recognises itself, so it never forwards to itself: a target naming one of this
 * host's addresses (or `localhost`, or its host name) with our listening port, and a request whose
 * `Via` already carries our entry — the loop that a DNS name pointing back at us would make.
 */
export class SelfCheck {
  readonly #readPort: () => number;
  /** The listening port once known: reading it (`server.address()`) is a native call per request. */
  #known = 0;
  readonly #bindIp: string;
  #names: Set<string> | undefined;
  #via: string | undefined;

  /** `port` reads the listening port (known only after listen, port 0 in tests); `bindIp` is `[server] ip`. */
  constructor(port: () => number, bindIp: string) {
    this.#readPort = port;
    this.#bindIp = bindIp;
  }

  /** The listening port; 0 until known (a port does not change once listening). */
  #port(): number {
    return this.#known !== 0 ? this.#known : (this.#known = this.#readPort());
  }

  /**
   * True when `host:port` is this server. `host` comes from the WHATWG URL parser (lower case, IPv4
   * forms normalised), which keeps a trailing dot (`localhost.`, the same name fully qualified) and
   * writes IPv4-mapped addresses in hex (`::ffff:a00:1`): both are read as the plain spelling.
   */
  isSelf(host: string, port: number): boolean {
    if (port !== this.#port()) return false;
    const plain = unmapHex(host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
    if (isLoopback(plain)) return true;
    return this.#localNames().has(plain);
  }

  /** Our Via entry: `1.1 <host name>:<port>` (RFC 9110 §7.6.3 received-by). */
  get via(): string {
    return (this.#via ??= `1.1 ${os.hostname().toLowerCase()}:${this.#port()}`);
  }

  /** True when a Via header (every line) already lists our entry: the request came round again. */
  seenIn(via: string | string[] | undefined): boolean {
    if (via === undefined) return false;
    const ours = this.via.slice(this.via.indexOf(' ') + 1);
    for (const line of Array.isArray(via) ? via : [via]) {
      for (const hop of line.split(',')) {
        const receivedBy = hop.trim().split(/\s+/)[1];
        if (receivedBy !== undefined && receivedBy.toLowerCase() === ours) return true;
      }
    }
    return false;
  }

  /** Every interface address, the bind address and our names; read once (interfaces rarely change under a worker). */
  #localNames(): Set<string> {
    if (this.#names) return this.#names;
    const names = new Set(['localhost', os.hostname().toLowerCase(), '0.0.0.0', '::']);
    if (this.#bindIp !== '') names.add(this.#bindIp.toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase());
    return (this.#names = names);
  }
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
// The URL parser writes [::ffff:127.0.0.1] as ::ffff:7f00:1.
LOOPBACK.addSubnet('::ffff:7f00:0', 104, 'ipv6');

/** `::ffff:a00:1` -> `10.0.0.1`; anything else as it is. */
function unmapHex(host: string): string {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(host);
  if (!m) return host;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function isLoopback(host: string): boolean {
  const family = net.isIPv4(host) ? 'ipv4' : net.isIPv6(host) ? 'ipv6' : undefined;
  return family !== undefined && LOOPBACK.check(host, family);
}
