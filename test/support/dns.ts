/**
 * A small DNS server on 127.0.0.1 (UDP, node:dgram) answering A records from a table the test
 * changes, so members-from-DNS tests run against node's real resolver (c-ares) pointed at it:
 * `dnsResolver(server)` is a `dns.promises.Resolver` with `setServers(['127.0.0.1:port'])`.
 *
 * - a name in the table: its A records, with the table's TTL; AAAA queries get an empty answer;
 * - a name not in the table: NXDOMAIN;
 * - `failing = true`: SERVFAIL for everything (a DNS outage).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import type { AddressInfo } from 'node:net';

export interface TestDns {
  readonly port: number;
  /** Name (lower-case, no trailing dot) -> IPv4 addresses. */
  readonly records: Map<string, string[]>;
  /** TTL of every answer, seconds. */
  ttl: number;
  failing: boolean;
  /** Queries received, by name. */
  readonly queries: Map<string, number>;
  close(): Promise<void>;
}

export async function startDns(): Promise<TestDns> {
  const socket = dgram.createSocket('udp4');
  const server: TestDns = {
    port: 0,
    records: new Map(),
    ttl: 30,
    failing: false,
    queries: new Map(),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, peer) => {
    const question = parseQuestion(msg);
    if (!question) return;
    server.queries.set(question.name, (server.queries.get(question.name) ?? 0) + 1);
    const addresses = server.records.get(question.name);
    const rcode = server.failing ? 2 : addresses === undefined ? 3 : 0;
    const answers = rcode === 0 && question.type === 1 ? addresses! : [];
    socket.send(answer(msg, question.end, rcode, answers, server.ttl), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  (server as { port: number }).port = (socket.address() as AddressInfo).port;
  return server;
}

/** A resolver that asks only `server`, giving up fast (a test must not wait out c-ares' default retries). */
export function dnsResolver(server: TestDns): dns.promises.Resolver {
  const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.port}`]);
  return resolver;
}

function parseQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length && msg[at]! > 0) {
    const len = msg[at]!;
    labels.push(msg.subarray(at + 1, at + 1 + len).toString('ascii'));
    at += 1 + len;
  }
  at += 1; // the root label
  if (at + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at), end: at + 4 };
}

function answer(query: Buffer, questionEnd: number, rcode: number, addresses: readonly string[], ttl: number): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const rd = query[2]! & 0x01;
  header[2] = 0x80 | 0x04 | rd; // QR, AA, RD as asked
  header[3] = 0x80 | rcode; // RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((address) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((octet, i) => (rr[12 + i] = Number(octet)));
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
}
