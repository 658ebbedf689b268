/**
 * The h2 fast path (docs/http2.md, "Cached static files at the stream event"): a `GET`/`HEAD` stream
 * without a body whose answer a handler holds prepared in memory (the static handler's cached files)
 * is answered at the session's `'stream'` event with `stream.respond()` + `stream.end()`, without the
 * request, response and exchange objects of the full path. Only where the full path would send the
 * same bytes: every handler the route table would ask first must say it declines the path
 * ({@link Handler.declines}), a Range or conditional header, a Host of no group, an oversized
 * header list, a stop in progress all take the full path. What a user sees stays the same: the
 * headers (X-Request-Id, Date included), the access line, the traffic and route counters, the
 * durations, the in-flight count a stop waits on.
 */
import type http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/types.js';
import { isValidRequestId, nextRequestId } from '../log/trace.js';
import type { AccessLine } from './accessline.js';
import type { ClientIp } from './clientip.js';
import { idNeverIndexed } from './h2id.js';
import { streamPeer } from './h2request.js';
import type { Handler, PreparedAnswer } from './handler.js';
import type { InFlight } from './inflight.js';
import { mountMatches, type RouteTable } from './routes.js';
import { sentBytes, type Durations, type RouteStats, type Traffic } from './traffic.js';

/** The engine's parts the fast path counts in, as Engine#dispatch and Engine#closed do. */
export interface FastPathParts {
  readonly config: ServerConfig;
  readonly routes: RouteTable;
  readonly before: readonly Handler[];
  readonly clientIp: ClientIp;
  readonly traffic: Traffic;
  readonly inFlight: InFlight;
  readonly durations: Durations | undefined;
  readonly access: AccessLine | undefined;
  /** True once a stop began: the full path then answers (it knows what a stop changes). */
  closing(): boolean;
  /** A request left the in-flight count (a stop may be waiting for zero). */
  settled(): void;
}

/** What a stream answered here needs when it closes; kept on the stream (no closure per stream). */
class Answered {
  constructor(
    readonly fast: H2FastPath,
    readonly stats: RouteStats,
    readonly id: string,
    readonly headers: http2.IncomingHttpHeaders,
    /** For the access line (performance.now(), the session's socket and its bytes so far); unset without one. */
    readonly start: number,
    readonly socket: { readonly remotePort?: number | undefined } | undefined,
    readonly sentBefore: number,
    readonly remote: string,
  ) {}
}

/**
 * The `respond()` object of a prepared 200 ({@link PreparedAnswer.h2Head}) for `headers` (lower-case
 * names, valid values): `:status`, the headers, the `x-request-id` slot, sent never indexed (h2id.ts).
 */
export function preparedH2Head(headers: Readonly<Record<string, string>>): Record<string, string | number> {
  return idNeverIndexed(Object.assign({ ':status': 200 }, headers, { 'x-request-id': '' }));
}


const kAnswered = Symbol('h2 fast answer');
type Stream = http2.ServerHttp2Stream & { [kAnswered]?: Answered };
/** respond() copies its options too: two shared objects. */
const BODY = { endStream: false };
const NO_BODY = { endStream: true };
/** Errors reach the stream's `'close'` (a reset counts as aborted there), never the process. */
function ignore(): void {}
function onClose(this: Stream): void {
  const a = this[kAnswered]!;
  a.fast.closed(this, a);
}

export class H2FastPath {
  readonly #p: FastPathParts;
  readonly #before: readonly Handler[];
  readonly #maxHeaderSize: number;
  readonly #compressMin: number;
  readonly #timed: boolean;

  /** The fast path of an engine, or undefined when a handler asked before the route table cannot tell what it declines. */
  static for(parts: FastPathParts): H2FastPath | undefined {
    return parts.before.every((h) => h.declines !== undefined) ? new H2FastPath(parts) : undefined;
  }

  private constructor(parts: FastPathParts) {
    this.#p = parts;
    this.#before = parts.before;
    this.#maxHeaderSize = parts.config.maxHeaderSize;
    this.#compressMin = parts.config.compressMinSize;
    this.#timed = parts.access !== undefined || parts.durations !== undefined;
  }

  /**
   * Answer `stream` (its HEADERS ended it) when a handler has its answer prepared and every handler
   * before it declines; false, with nothing done, when the full path must take it.
   */
  answer(stream: Stream, headers: http2.IncomingHttpHeaders, raw: string[]): boolean {
    // One pass over the raw list instead of a dozen lookups in node's header object (a dictionary).
    let method: string | undefined;
    let url: string | undefined;
    let size = 16 * raw.length;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      size += name.length + value.length;
      const c = name.charCodeAt(0);
      if (c === 58) {
        if (name === ':method') method = value;
        else if (name === ':path') url = value;
      } else if (c === 105 ? name.startsWith('if-') : name === 'range' || name === 'expect') {
        // Range and conditionals answer 206/304/412 by the full path's rules; Expect waits for a body.
        return false;
      }
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    // Over the list size the full path answers 431 (h2.ts prepareH2: the same sum, RFC 9113 §6.5.2).
    if (url === undefined || url.charCodeAt(0) !== 47 || size > this.#maxHeaderSize || stream.destroyed || stream.closed || this.#p.closing()) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    for (let i = 0; i < this.#before.length; i++) if (!this.#before[i]!.declines!(method, path)) return false;
    const mounts = this.#p.routes.mountsFor(this.#p.routes.grouped ? (headers.host ?? headers[':authority']) : undefined);
    if (mounts === undefined) return false;
    for (let m = 0; m < mounts.length; m++) {
      const mount = mounts[m]!;
      if (!mountMatches(mount.prefix, path)) continue;
      const rest = mount.prefix === '' ? path : path.slice(mount.prefix.length);
      for (let h = 0; h < mount.handlers.length; h++) {
        const handler = mount.handlers[h]!;
        if (handler.prepared !== undefined) {
          const answer = handler.prepared(rest, headers['accept-encoding'], this.#compressMin);
          if (answer === undefined) return false;
          this.#send(stream, method, headers, answer, mount.stats);
          return true;
        }
        if (handler.declines === undefined || !handler.declines(method, rest)) return false;
      }
    }
    return false;
  }

  #send(stream: Stream, method: 'GET' | 'HEAD', headers: http2.IncomingHttpHeaders, answer: PreparedAnswer, stats: RouteStats): void {
    const p = this.#p;
    const peer = streamPeer(stream);
    // As Engine#dispatch: only a trusted proxy names the request.
    const trusted = p.clientIp.trusts(peer);
    const given = trusted ? headers['x-request-id'] : undefined;
    const id = typeof given === 'string' && isValidRequestId(given) ? given : nextRequestId();
    p.traffic.requests++;
    p.inFlight.count++;
    let answered: Answered;
    if (this.#timed) {
      const socket = p.access !== undefined ? (stream.session?.socket as unknown as Parameters<typeof sentBytes>[0] | undefined) : undefined;
      const remote = p.access !== undefined ? p.clientIp.resolve(peer, trusted ? headers['x-forwarded-for'] : undefined) : '';
      answered = new Answered(this, stats, id, headers, performance.now(), socket, socket ? sentBytes(socket) : 0, remote);
    } else answered = new Answered(this, stats, id, headers, 0, undefined, 0, '');
    stream[kAnswered] = answered;
    stream.on('error', ignore);
    stream.on('close', onClose);
    const head = answer.h2Head;
    // respond() copies the object before it returns: the shared head carries this request's id only meanwhile.
    head['x-request-id'] = id;
    const body = method === 'HEAD' || answer.body.length === 0 ? undefined : answer.body;
    stream.respond(head, body === undefined ? NO_BODY : BODY);
    if (body !== undefined) stream.end(body);
  }

  /** As Engine#closed for an exchange: the in-flight count, the counters, the durations, the access line. */
  closed(stream: Stream, a: Answered): void {
    const p = this.#p;
    p.inFlight.count--;
    p.settled();
    const complete = stream.writableFinished;
    p.traffic.response(200, complete, a.stats);
    p.durations?.add((performance.now() - a.start) / 1000);
    if (p.access !== undefined) {
      const bytes = a.socket ? sentBytes(a.socket as Parameters<typeof sentBytes>[0]) - a.sentBefore : 0;
      p.access.writeStream(a.id, a.headers, a.remote, a.socket?.remotePort ?? 0, a.start, 200, bytes, !complete);
    }
  }
}
