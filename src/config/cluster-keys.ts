/**
 * The key tables of `[@name]` sections: HTTP clusters (`CLUSTER_KEYS`) and `type = postgresql` ones
 * (`DB_CLUSTER_KEYS`). Health, breaker, retry-budget, slow-start and DNS keys mean the same in both
 * and share their rows. The cluster and DB layers read a section through `reader.ts` with these.
 */
import type { KeySpec } from './keys.js';

/** INI `strategy` values. */
export const STRATEGIES = ['weighted_round_robin', 'least_connections', 'random_of_two'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Other spellings accepted in the config, mapped to the canonical names. */
export const STRATEGY_ALIASES: Readonly<Record<string, Strategy>> = {
  round_robin: 'weighted_round_robin',
  wrr: 'weighted_round_robin',
  least_conn: 'least_connections',
  p2c: 'random_of_two',
};

const S = 1000;

/** Keys that mean the same for HTTP and PostgreSQL clusters, by name. */
const SHARED: Readonly<Record<string, KeySpec>> = Object.fromEntries(([
  { key: 'type', type: 'enum', default: 'http', values: ['http', 'postgresql'], doc: '`http` (members answer HTTP, XML-RPC or JSON-RPC) or `postgresql` (a database cluster, below).' },
  { key: 'strategy', type: 'enum', default: 'weighted_round_robin', values: STRATEGIES, synonyms: STRATEGY_ALIASES, doc: 'Member choice for `lb`/`dlb`: `weighted_round_robin` (smooth, like nginx), `least_connections`, `random_of_two`.' },
  { key: 'health_check_interval', type: 'seconds', default: 10 * S, min: 10, max: 3600 * S, doc: 'Time between active checks of each member.' },
  { key: 'health_check_timeout', type: 'seconds', default: 2 * S, min: 1, max: 600 * S, doc: 'A probe not answered in this time counts as failed.' },
  { key: 'healthy_threshold', type: 'int', default: 2, min: 1, max: 100, doc: 'Good probes in a row that bring a member back (also ending a passive ejection).' },
  { key: 'unhealthy_threshold', type: 'int', default: 3, min: 1, max: 100, doc: 'Failed probes in a row that mark a member down.' },
  { key: 'eject_failures', type: 'int', default: 3, min: 1, max: 1000, doc: 'Failures in a row that eject a member (passive health).' },
  { key: 'eject_base', type: 'seconds', default: 1 * S, min: 1, max: 3600 * S, doc: 'First ejection period; the n-th in a row lasts `eject_base × 2^(n-1)`.' },
  { key: 'eject_max', type: 'seconds', default: 60 * S, min: 1, max: 24 * 3600 * S, doc: 'Cap of the ejection period.' },
  { key: 'breaker', type: 'bool', default: true, doc: 'The cluster circuit breaker.' },
  { key: 'breaker_failure_rate', type: 'percent', default: 50, min: 1, max: 100, doc: 'Failure share over the window that opens the breaker.' },
  { key: 'breaker_min_requests', type: 'int', default: 20, min: 1, max: 1_000_000, doc: 'Exchanges needed in the window before the breaker may open.' },
  { key: 'breaker_window', type: 'seconds', default: 10 * S, min: 10, max: 3600 * S, doc: 'Sliding window of the failure rate.' },
  { key: 'breaker_cooldown', type: 'seconds', default: 5 * S, min: 1, max: 3600 * S, doc: 'How long the breaker stays open before it half-opens.' },
  { key: 'breaker_probes', type: 'int', default: 1, min: 1, max: 1000, doc: 'Requests let through when half-open; as many successes close it.' },
  { key: 'retry_budget', type: 'percent', default: 20, min: 0, max: 100, doc: 'Failovers and hedges allowed, as a share of requests over the last 10 s.' },
  { key: 'retry_budget_min', type: 'int', default: 10, min: 0, max: 1_000_000, doc: 'Failovers and hedges always allowed per second, however little traffic there is.' },
  { key: 'slow_start', type: 'seconds', default: 0, min: 0, max: 3600 * S, doc: 'A member that comes back (after an ejection or being down) or is added gets a share of traffic growing linearly from nothing to its full weight over this time (HAProxy `slowstart`). 0 = off.' },
  { key: 'resolve', type: 'bool', default: false, doc: 'Member host names are looked up in DNS (A and AAAA records) every `resolve_interval`: each address is a member, added and removed as addresses appear and vanish (a Kubernetes headless service, Consul DNS). Off: a name is connected to as it is.' },
  { key: 'resolve_interval', type: 'seconds', default: 30 * S, min: 100, max: 24 * 3600 * S, doc: 'How often names are looked up again with `resolve = yes`; a shorter TTL in the answer wins (never below 1 s).' },
  { key: 'required', type: 'bool', default: false, doc: 'The site is not ready (`ready_path` answers 503) while no member of this cluster is live (healthy: not ejected, not down). Pair it with active health checks, so a member found down is also found back up without traffic.' },
] satisfies KeySpec[]).map((k) => [k.key, k]));

const shared = (...keys: string[]): KeySpec[] => keys.map((k) => SHARED[k]!);

/** Every key of an HTTP cluster section. */
export const CLUSTER_KEYS: readonly KeySpec[] = [
  { key: 'members', type: 'string', default: undefined, required: true, doc: '`host:port weight, …` — weight after a space (default 1); port 80, or 443 with `ssl = yes`.' },
  ...shared('type'),
  { key: 'ssl', type: 'bool', default: false, doc: 'HTTPS to the members. Certificates are verified (system CAs, or `ca_file`).' },
  { key: 'http2', type: 'bool', default: false, doc: 'HTTP/2 to the members (needs `ssl = yes`: chosen by ALPN, HTTP/1.1 when a member does not offer h2); requests to a member multiplex over its connections (docs/http2.md).' },
  { key: 'ca_file', type: 'path', default: undefined, doc: 'PEM CA bundle to trust for the members; replaces the system CAs.' },
  ...shared('strategy'),
  { key: 'max_conns', type: 'int', default: 100, min: 1, max: 100_000, doc: 'Connections per member per worker; more requests queue.' },
  { key: 'connect_timeout', type: 'seconds', default: 3 * S, min: 1, max: 600 * S, doc: 'TCP + TLS connect limit; a failed connect is a NETERR and safe to fail over.' },
  { key: 'response_timeout', type: 'seconds', default: 10 * S, min: 1, max: 3600 * S, doc: "Limit for the response headers, and for each gap while reading the body (TIMEOUT). Skitai's client checks it exactly; undici (`call_client = undici`, `http2`) on a coarse clock (up to ~1 s late). The call deadline of `getwait` is exact." },
  { key: 'keep_alive', type: 'seconds', default: 60 * S, min: 1, max: 3600 * S, doc: 'Idle keep-alive time of member connections (a shorter `Keep-Alive: timeout` from the member wins).' },
  { key: 'call_client', type: 'enum', default: 'skitai', values: ['skitai', 'undici'], doc: "The member client of `was.*` calls and health checks: `skitai`, Skitai's own HTTP/1.1 client with a strict response parser (docs/clusters.md, \"The member client\"), or `undici`. UPLOAD (multipart) bodies and `http2 = yes` always use undici." },
  { key: 'proxy_client', type: 'enum', default: 'skitai', values: ['skitai', 'undici'], doc: "The reverse proxy's (`/p = @name`) member client: `skitai` (docs/proxy.md) or `undici`. With `call_client = skitai` too, calls and the proxy share one connection pool per member. `http2 = yes` always uses undici; WebSocket upgrades use node:http." },
  { key: 'max_response_size', type: 'size', default: 64 * 2 ** 20, min: 1, max: 2 ** 40, doc: 'Largest response body read, after decompression; larger is a NETERR.' },
  { key: 'health_check_path', type: 'string', default: undefined, check: { test: (v) => v.startsWith('/'), expect: 'a path starting with "/"' }, doc: 'Path for active checks (`GET`, 2xx/3xx = healthy). Unset: passive health only.' },
  ...shared('health_check_interval', 'health_check_timeout', 'healthy_threshold', 'unhealthy_threshold', 'eject_failures', 'eject_base', 'eject_max'),
  { key: 'fail_on_5xx', type: 'bool', default: true, doc: 'Count 5xx responses as failures for health and breaker (they are still returned, never retried).' },
  ...shared('breaker', 'breaker_failure_rate', 'breaker_min_requests', 'breaker_window', 'breaker_cooldown', 'breaker_probes'),
  { key: 'hedge_delay', type: 'seconds', default: 0, min: 0, max: 600 * S, doc: '`lb` only: when the first member has not answered in this time, also ask a second and take the first answer. 0 = off.' },
  { key: 'retry_timeouts', type: 'bool', default: false, doc: 'Fail over after a member TIMEOUT too (idempotent or safe calls only).' },
  ...shared('retry_budget', 'retry_budget_min', 'slow_start', 'resolve', 'resolve_interval', 'required'),
];

/** Every key of a `type = postgresql` cluster section. */
export const DB_CLUSTER_KEYS: readonly KeySpec[] = [
  { key: 'members', type: 'string', default: undefined, required: true, secret: true, doc: '`host:port/dbname/user/password weight, …` — port 5432 by default, weight after a space (default 1); user and password are %-decoded (`%2C` comma, `%25` percent). The password may be left out (`host:port/db/user`) for trust auth or `PGPASSWORD`/`.pgpass`.' },
  ...shared('type', 'strategy'),
  { key: 'max_conns', type: 'int', default: 10, min: 1, max: 1000, doc: "Connections per member per worker (a pg.Pool each). More queries wait for a free one; the wait counts against the call's deadline." },
  { key: 'connect_timeout', type: 'seconds', default: 5 * S, min: 1, max: 600 * S, doc: 'Connect + authentication limit; a failed connect is a NETERR and safe to fail over.' },
  { key: 'idle_timeout', type: 'seconds', default: 60 * S, min: 1 * S, max: 24 * 3600 * S, doc: 'Idle connections are closed after this long.' },
  { key: 'query_timeout', type: 'seconds', default: 30 * S, min: 1, max: 24 * 3600 * S, doc: "Longest a query may run, even when nobody waits for it (a call's `getwait` deadline may cut it sooner). At the limit the call gets TIMEOUT and the query is cancelled ON THE SERVER." },
  { key: 'health_check', type: 'bool', default: false, doc: 'Active checks: every `health_check_interval` each member gets a fresh connection running `SELECT 1`. Off: passive health only.' },
  ...shared('health_check_interval', 'health_check_timeout', 'healthy_threshold', 'unhealthy_threshold'),
  ...shared('eject_failures', 'eject_base', 'eject_max', 'breaker', 'breaker_failure_rate', 'breaker_min_requests', 'breaker_window', 'breaker_cooldown', 'breaker_probes', 'retry_budget', 'retry_budget_min', 'slow_start', 'resolve', 'resolve_interval', 'required'),
];
