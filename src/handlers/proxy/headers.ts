import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Which headers cross the reverse proxy. Hop-by-hop headers (RFC 9110 §7.6.1) describe one
 * connection, so they stop here in both directions: Connection and every header it names,
 * Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade. The X-Forwarded-* headers tell the
 * member who asked.
 */

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** True for a header that belongs to one connection only (`named` = the names Connection listed). */
function isHopByHop(name: string, named: ReadonlySet<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || (named !== undefined && named.has(name));
}

/** Header names listed by Connection header values (lower-case); undefined when there are none. */
function connectionNames(values: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (const value of values) named = addConnectionNames(named, value);
  return named;
}

/** `named` plus the header names one Connection value lists (options such as keep-alive name no header worth keeping). */
function addConnectionNames(named: Set<string> | undefined, value: string): Set<string> | undefined {
  // Nearly every Connection header is just this; splitting it cost a microsecond per proxied response.
  if (value.length <= 10 && /^(?:keep-alive|close)$/i.test(value)) return named;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') (named ??= new Set()).add(name);
  }
  return named;
}

/** Who asked, as the member should learn it. */
export interface Forwarding {
  /** The socket peer (IPv4-mapped addresses unmapped): appended to X-Forwarded-For. */
  readonly peer: string;
  /**
   * True when the peer is a trusted proxy that spoke for the client (the engine believed its
   * X-Forwarded-For): its X-Forwarded-Proto and -Host describe the original request, so they are kept.
   */
  readonly trustedPeer: boolean;
  /**
   * `http` or `https`: how the request reached this server. Absent for the forward proxy: it does
   * not speak for an origin, so X-Forwarded-Proto and -Host pass as the client wrote them.
   */
  readonly proto?: string | undefined;
  /** Our Via entry (`1.1 name`), appended to the client's Via (RFC 9110 §7.6.3); absent = no Via. */
  readonly via?: string | undefined;
  /**
   * The request id, replacing the client's `X-Request-Id`, and (the reverse proxy) a child
   * `traceparent` replacing the client's; a `traceparent` not given here passes as sent. Absent:
   * both pass as sent.
   */
  readonly trace?: { readonly id: string; readonly traceparent?: string | undefined } | undefined;
  /**
   * True when the request brought a budget (`X-Skitai-Deadline` / `grpc-timeout`) that the reverse
   * proxy rewrites for each attempt: both are left out here and the proxy appends what is left.
   */
  readonly deadline?: boolean | undefined;
}

/**
 * The request headers for a member, as undici's flat `[name, value, …]` list, from the client's raw
 * headers. Host is left out (undici sets the member's, as Skitai and nginx do), and so are Expect
 * (Node already answered `100 Continue`; undici refuses it) and, unless `keepLength`, Content-Length
 * (undici sets it for a buffered body).
 */
export function requestHeaders(raw: readonly string[], fwd: Forwarding, keepLength: boolean): string[] {
  const connection: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'connection') connection.push(raw[i + 1]!);
  const named = connection.length > 0 ? connectionNames(connection) : undefined;
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let host: string | undefined;
  let lengthSeen = false;
  let protoSeen = false;
  let hostSeen = false;
  let via: string | undefined;
  const forOrigin = fwd.proto !== undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // An h2 request's pseudo-headers (RFC 9113 §8.3) are no HTTP/1.1 fields; :authority stands for Host.
    if (name.charCodeAt(0) === 58) {
      if (name === ':authority') host ??= value;
      continue;
    }
    const lower = name.toLowerCase();
    if (isHopByHop(lower, named)) continue;
    switch (lower) {
      case 'host':
        host ??= value;
        continue;
      case 'expect':
        continue;
      case 'x-skitai-deadline':
      case 'grpc-timeout':
        if (fwd.deadline === true) continue;
        break;
      case 'x-request-id':
        if (fwd.trace) continue;
        break;
      case 'traceparent':
        if (fwd.trace?.traceparent !== undefined) continue;
        break;
      case 'content-length':
        // undici refuses a repeated Content-Length; Node's parser has already checked they agree.
        if (!keepLength || lengthSeen) continue;
        lengthSeen = true;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'via':
        if (fwd.via === undefined) break;
        via = via === undefined ? value : `${via}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        if (!forOrigin) break;
        // From anyone but a trusted proxy these are the client's word, so ours replace them.
        if (!fwd.trustedPeer || protoSeen) continue;
        protoSeen = true;
        break;
      case 'x-forwarded-host':
        if (!forOrigin) break;
        if (!fwd.trustedPeer || hostSeen) continue;
        hostSeen = true;
        break;
    }
    out.push(name, value);
  }
  // Appended, never replaced (like nginx's $proxy_add_x_forwarded_for): the member trusts the hops it knows from the right.
  out.push('x-forwarded-for', forwardedFor === undefined ? fwd.peer : `${forwardedFor}, ${fwd.peer}`);
  if (fwd.trace) {
    out.push('x-request-id', fwd.trace.id);
    if (fwd.trace.traceparent !== undefined) out.push('traceparent', fwd.trace.traceparent);
  }
  if (fwd.via !== undefined) out.push('via', via === undefined ? fwd.via : `${via}, ${fwd.via}`);
  if (!forOrigin) return out;
  if (!protoSeen) out.push('x-forwarded-proto', fwd.proto!);
  if (!hostSeen && host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

/** The member's response headers minus the hop-by-hop ones, for `writeHead`. */
export function responseHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): OutgoingHttpHeaders {
  const connection = headers.connection;
  const named = connection === undefined ? undefined : connectionNames(Array.isArray(connection) ? connection : [connection]);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !isHopByHop(name, named)) out[name] = value;
  }
  return out;
}

/**
 * The member's response headers (undici's raw `[name, value, …]` buffers, or the latin1 strings of
 * the proxy's own member client) minus the hop-by-hop
 * ones, as a flat `[name, value, …]` list for `writeHead`: names keep the member's case, repeated
 * headers (Set-Cookie) stay repeated, and the bytes pass unchanged (latin1 both ways). With `via`
 * (the forward proxy's entry), the answer's Via lines become one, ours last (RFC 9110 §7.6.3).
 */
const text = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('latin1'));

export function relayHeaders(raw: readonly (Buffer | string)[], via?: string): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  let vias: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = text(raw[i]!);
    // Only names of these lengths, or starting with p (proxy-*), can be hop-by-hop: the others skip a lower-case copy.
    const n = name.length;
    if (n === 10 || n === 2 || n === 7 || n === 17 || name.charCodeAt(0) === 112 || name.charCodeAt(0) === 80) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        named = addConnectionNames(named, text(raw[i + 1]!));
        continue;
      }
      if (isHopByHop(lower, undefined)) continue;
    } else if (n === 3 && via !== undefined && name.toLowerCase() === 'via') {
      const value = text(raw[i + 1]!);
      vias = vias === undefined ? value : `${vias}, ${value}`;
      continue;
    }
    out.push(name, text(raw[i + 1]!));
  }
  let kept = out;
  if (named !== undefined) {
    kept = [];
    for (let i = 0; i < out.length; i += 2) if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  }
  // Ours goes on even when the answer's Connection names Via (then only the answer's Via lines go).
  if (via !== undefined) kept.push('via', vias === undefined || named?.has('via') ? via : `${vias}, ${via}`);
  return kept;
}
