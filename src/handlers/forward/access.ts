import type { BlockList } from 'node:net';
import { addressList, inList } from '../../http/clientip.js';

/**
 * Who may use the forward proxy and where a tunnel may go. Skitai's proxy had no access control and
 * was abused by spam bots; here clients are allowed by address (`proxy_allow`, loopback by
 * default) and CONNECT by destination port (`proxy_connect_ports`, 443 by default).
 */
export class ProxyAccess {
  readonly #clients: BlockList;
  /** Inclusive [low, high] port ranges. */
  readonly #ports: readonly (readonly [number, number])[];

  constructor(allow: readonly string[], connectPorts: readonly string[]) {
    this.#clients = addressList(allow, 'proxy_allow');
    this.#ports = connectPorts.map((entry) => {
      const [low, high = low] = entry.split('-').map(Number) as [number, number?];
      return [low, high] as const;
    });
  }

  /** True when the client address may use the proxy. */
  allowsClient(remote: string): boolean {
    return inList(this.#clients, remote);
  }

  /** True when CONNECT may reach `port`. */
  allowsPort(port: number): boolean {
    return this.#ports.some(([low, high]) => port >= low && port <= high);
  }
}
