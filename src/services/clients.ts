import type { Agent } from 'undici';
import type { CacheStats } from '../call/cache.js';
import type { Deadline } from '../call/deadline.js';
import type { Sink as GatherSink } from '../call/gather.js';
import { failover, fanOut, type Rule } from '../call/plan.js';
import { Result } from '../call/result.js';
import { Status } from '../call/status.js';
import type { ClusterStatus } from '../cluster/cluster.js';
import { SkitaiError } from '../errors.js';
import { send, type Endpoint } from '../transport/http/exchange.js';
import { closeDispatchers, createAgent, type PoolOptions } from '../transport/http/pool.js';
import { Call, type CallOptions, type Sender, type Sink, type Slot } from '../client/call.js';
import { rpcProxy, type RpcCall, type RpcClient } from '../client/proxy.js';
import { isRpcMethod, type Prepared } from '../client/request.js';
import { isClusterTarget, parseClusterTarget, parseUrl } from '../client/target.js';
import type { Upstream } from '../client/upstream.js';
import { openWebSocket, type ClientWebSocket, type WsOptions } from '../client/ws.js';
import type { ServicesCore, SharedOptions } from './core.js';
import { ServiceFace } from './face.js';

/** The options of a call made without any: one shared object, not a literal per call on the hot path. */
const NO_OPTIONS: CallOptions = Object.freeze({});

/** Settings of the facade. Durations in MILLISECONDS. */
export interface ClientsOptions extends SharedOptions {
  /** For single URLs (rest/wget/get…): connections per origin (default 64), timeouts (3 s, 10 s), body limit (64 MiB). */
  readonly maxConns?: number;
  readonly connectTimeout?: number;
  readonly responseTimeout?: number;
  readonly keepAlive?: number;
  readonly maxResponseSize?: number;
  /** PEM CA file trusted for single URLs instead of the system CAs. */
  readonly caFile?: string;
}

/** `was.status()`'s view of the clients. */
export interface ClientsStatus {
  readonly clusters: Readonly<Record<string, ClusterStatus>>;
  readonly resultCache: CacheStats;
}

type Method = string;
type RpcVerb = 'XMLRPC' | 'JSONRPC';

/**
 * Skitai's outgoing calls, one per worker (the `clients` face of its `Services`): `map` and
 * `lb` to `[@name]` clusters, `rest`, `wget` and the verb helpers to single URLs, over shared
 * keep-alive pools, with one result cache.
 * Misuse (unknown cluster, bad URL or method) throws SkitaiError at once; a member's failure never
 * throws — it is a Result with status TIMEOUT or NETERR.
 */
export class Clients extends ServiceFace {
  /** Made on the first single-URL call, so a site that makes none never loads undici. */
  #agent: Agent | undefined;
  readonly #agentOptions: PoolOptions;
  readonly #url: Omit<Endpoint, 'dispatcher' | 'origin' | 'node'>;
  /** Senders by `@name/path` target and kind: parsing the target and finding the cluster once, not per call. */
  // One map per kind, keyed by the target as given: no key string is built per call.
  readonly #senders = { lb: new Map<string, ClusterSender>(), map: new Map<string, ClusterSender>() };

  /**
   * @param options the `[@name]` sections (only `type = http` ones are wired here) and the settings of single-URL calls.
   * @param core internal: the worker's shared parts when this face belongs to a `Services`
   *   (its clusters, clock, cache and logger are used, not those in `options`).
   */
  constructor(options: ClientsOptions = {}, core?: ServicesCore) {
    super('http', options, core);
    const connectTimeout = options.connectTimeout ?? 3000;
    this.#agentOptions = { connections: options.maxConns ?? 64, connectTimeout, keepAlive: options.keepAlive ?? 60_000, caFile: options.caFile };
    // A CA file is read now, so a bad path is a start-up error rather than the first call's.
    if (options.caFile !== undefined) {
      try {
        this.#agent = createAgent(this.#agentOptions);
      } catch (err) {
        if (!core) void this.registry.close('http', 0);
        throw err;
      }
    }
    this.#url = { connectTimeout, responseTimeout: options.responseTimeout ?? 10_000, maxResponseSize: options.maxResponseSize ?? 64 * 2 ** 20, failOn5xx: false };
  }

  /** Send to every live member of a cluster (`'@name/path'`). XMLRPC (the default) and JSONRPC send when a method is called. */
  map(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcCall;
  map<Api extends object>(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcClient<Api>;
  map(target: string, method: Method, data?: unknown, options?: CallOptions): Call;
  map(target: string, method: Method = 'XMLRPC', data?: unknown, options: CallOptions = NO_OPTIONS): Call | RpcCall {
    const sender = this.#sender('map', target, undefined);
    return this.#call(sender, method, sender.path, data, options);
  }

  /** Send to one member chosen by the cluster's strategy, failing over when that is safe. */
  lb(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcCall;
  lb<Api extends object>(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcClient<Api>;
  lb(target: string, method: Method, data?: unknown, options?: CallOptions): Call;
  lb(target: string, method: Method = 'XMLRPC', data?: unknown, options: CallOptions = NO_OPTIONS): Call | RpcCall {
    const sender = this.#sender('lb', target, options.retryTimeouts);
    return this.#call(sender, method, sender.path, data, options);
  }

  /** One URL (or `'@name/path'`, which goes through `lb`). XMLRPC by default, like Skitai. */
  rest(url: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcCall;
  rest<Api extends object>(url: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcClient<Api>;
  rest(url: string, method: Method, data?: unknown, options?: CallOptions): Call;
  rest(url: string, method: Method = 'XMLRPC', data?: unknown, options: CallOptions = NO_OPTIONS): Call | RpcCall {
    if (isClusterTarget(url)) return this.lb(url, method, data, options);
    const u = parseUrl(url);
    const endpoint: Endpoint = { ...this.#url, dispatcher: (this.#agent ??= createAgent(this.#agentOptions)), origin: u.origin, node: u.node };
    const state = this.state;
    const sender: Sender = {
      kind: 'rest',
      target: `${u.origin}${u.path}`,
      start(prepared, deadline, sink) {
        if (state.closed) return closedSlots(u.node, sink);
        send(endpoint, prepared, deadline, (outcome) => sink.arrive(0, outcome.result));
        return { node: u.node };
      },
    };
    const login = options.login ?? u.login;
    return this.#call(sender, method, u.path, data, login === undefined ? options : { ...options, login });
  }

  /** GET `url`, or a form POST when `data` is given (Skitai's `wget`). */
  wget(url: string, data?: unknown, options: CallOptions = NO_OPTIONS): Call {
    return this.rest(url, data === undefined ? 'GET' : 'POST', data, options);
  }

  get(url: string, data?: Record<string, unknown>, options?: CallOptions): Call {
    return this.rest(url, 'GET', data, options);
  }
  post(url: string, data?: unknown, options?: CallOptions): Call {
    return this.rest(url, 'POST', data, options);
  }
  put(url: string, data?: unknown, options?: CallOptions): Call {
    return this.rest(url, 'PUT', data, options);
  }
  patch(url: string, data?: unknown, options?: CallOptions): Call {
    return this.rest(url, 'PATCH', data, options);
  }
  delete(url: string, data?: Record<string, unknown>, options?: CallOptions): Call {
    return this.rest(url, 'DELETE', data, options);
  }

  /** Open a client WebSocket to a URL or a cluster member (`@name/uri`); see {@link openWebSocket}. */
  ws(target: string, options?: WsOptions): Promise<ClientWebSocket> {
    return openWebSocket(this, target, options);
  }

  /**
   * The wired cluster `name` (without `@`), for a handler that sends by itself: the reverse proxy
   * picks members and reports outcomes through it. Throws like `lb` for an unknown or non-HTTP cluster.
   */
  upstream(name: string): Upstream {
    return this.#upstream(`@${name}`);
  }

  /** Members, states, in-flight, latency and breaker per cluster, and the result cache's counters. */
  status(): ClientsStatus {
    return { clusters: this.registry.httpStatus(), resultCache: this.cache.stats() };
  }

  /** @internal */
  protected closeOwn(graceMs: number): Promise<void>[] {
    return [closeDispatchers(this.#agent ? [this.#agent] : [], graceMs)];
  }

  #upstream(target: string): Upstream {
    return this.registry.upstream(parseClusterTarget(target).cluster);
  }

  #sender(kind: 'lb' | 'map', target: string, retryTimeouts: boolean | undefined): ClusterSender {
    const senders = this.#senders[kind];
    const known = senders.get(target);
    if (known && (retryTimeouts === undefined || retryTimeouts === known.retryTimeouts)) return known;
    const up = this.#upstream(target);
    const { path } = parseClusterTarget(target);
    const sender = new ClusterSender(kind, target, path, up, retryTimeouts ?? up.options.retryTimeouts, this.state);
    // Bounded: targets built from user input must not grow the map without end; past it, senders are made per call.
    if (retryTimeouts === undefined && senders.size < MAX_SENDERS) senders.set(target, sender);
    return sender;
  }

  #call(sender: Sender, method: Method, path: string, data: unknown, options: CallOptions): Call | RpcCall {
    const call = new Call(sender, { method, path, data, options }, this.cache, this.clock);
    return isRpcMethod(method) ? rpcProxy(call) : call;
  }
}

const MAX_SENDERS = 1000;

/** lb or map to one `@name/path` over `call/plan.ts`: made once per target and reused by every call to it. */
class ClusterSender implements Sender {
  readonly rule: Rule<Prepared, Result>;

  constructor(
    readonly kind: 'lb' | 'map',
    readonly target: string,
    readonly path: string,
    readonly up: Upstream,
    readonly retryTimeouts: boolean,
    readonly state: { readonly closed: boolean },
  ) {
    this.rule = up.rule(retryTimeouts);
  }

  check(prepared: Prepared): void {
    if (this.kind === 'map' && !prepared.replayable && this.up.cluster.live().length > 1) {
      throw new SkitaiError('SKT_CLIENT_USAGE', 'a stream body can be sent once; map needs a string, Buffer or object body');
    }
  }

  start(prepared: Prepared, deadline: Deadline, sink: Sink): Slot | Slot[] {
    if (this.state.closed) return closedSlots(this.target, sink);
    if (this.kind === 'lb') return failover(this.up, this.rule, prepared, deadline, sink as GatherSink<Result>);
    return fanOut(this.up, prepared, deadline, sink as GatherSink<Result>);
  }
}

function closedSlots(node: string, sink: Sink): Slot {
  sink.arrive(0, Result.failure(Status.NETERR, 'SKT_CLIENT_CLOSED', 'the clients are closed (the worker is shutting down)', node));
  return { node };
}
