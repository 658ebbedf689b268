import type { BlockList } from 'node:net';
import { addressList, inList } from '../../http/clientip.js';

const VERDICTS_MAX = 4096;

/**
 * Who may use the forward proxy and where a tunnel may go. Skitai's proxy had no access control and
 * was abused by spam bots; here clients are allowed by address (`proxy_allow`, loopback by
 * default) and CONNECT by destination port (`proxy_connect_ports`, 443 by default).
 */
export class ProxyAccess {
  readonly #clients: BlockList;
  /** Inclusive [low, high] port ranges. */
  readonly #ports: readonly (readonly [number, number])[];
  /**
   * Verdicts by client address: `BlockList.check()` cost several µs per request (a SocketAddress
   * and a native call each time), and a proxy's clients are few. Emptied when full.
   */
  readonly #verdicts = new Map<string, boolean>();

  constructor(allow: readonly string[], connectPorts: readonly string[]) {
    this.#clients = addressList(allow, 'proxy_allow');
    this.#ports = connectPorts.map((entry) => {
      const [low, high = low] = entry.split('-').map(Number) as [number, number?];
      return [low, high] as const;
    });
  }

  /** True when the client address may use the proxy. */
  allowsClient(remote: string): boolean {
    let allowed = this.#verdicts.get(remote);
    if (allowed === undefined) {
      allowed = inList(this.#clients, remote);
      if (this.#verdicts.size >= VERDICTS_MAX) this.#verdicts.clear();
      this.#verdicts.set(remote, allowed);
    }
    return allowed;
  }

  /** True when CONNECT may reach `port`. */
  allowsPort(port: number): boolean {
    return this.#ports.some(([low, high]) => port >= low && port <= high);
  }
}
