/**
 * The two request-target forms only a proxy receives (RFC 9112 §3.2): absolute-form
 * (`GET http://host:port/path`) and CONNECT's authority-form (`host:port`). Parsed strictly: the
 * host is what the proxy connects to, so anything odd in it is refused rather than guessed at.
 */

/** A host and port to connect to. */
export interface Target {
  /** Lower-case host name or IP address (IPv6 without brackets), normalised by the WHATWG URL parser. */
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[::1]:443`), for messages and logs. */
  readonly name: string;
}

/** A parsed absolute-form target, or why it cannot be forwarded. */
export type AbsoluteTarget =
  | { readonly kind: 'ok'; readonly target: Target; readonly origin: string; readonly path: string }
  | { readonly kind: 'scheme'; readonly scheme: string }
  | { readonly kind: 'bad'; readonly why: string };

/** `host:port` as CONNECT carries it; undefined when it is not exactly that. */
export function parseAuthority(text: string): Target | undefined {
  // Authority-form has no scheme, path, query, fragment or user info, and the port is required.
  if (!/^(?:\[[0-9a-f:.]+\]|[^\s:/?#@[\]]+):\d{1,5}$/i.test(text)) return undefined;
  return fromAuthority(text, 0);
}

/** `http://host[:port]/path?query`: where to connect and the path as the client wrote it (never normalised). */
export function parseAbsolute(url: string): AbsoluteTarget {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!m) return { kind: 'bad', why: 'not an absolute URL' };
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'http') return { kind: 'scheme', scheme };
  const authority = m[2]!;
  if (authority.includes('@')) return { kind: 'bad', why: 'user:password in the target is not forwarded' };
  const origin = authority === '' ? undefined : originOf(authority);
  if (!origin) return { kind: 'bad', why: `"${authority}" is not a host and port` };
  const rest = m[3]!;
  const path = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
  return { kind: 'ok', target: origin.target, origin: origin.origin, path };
}

/**
 * Authorities of absolute-form requests, parsed: a forward proxy's clients ask the same few hosts
 * again and again, and the WHATWG parser (`new URL`) was a fifth of the handler's own time.
 * Bounded: emptied when it is full, so a client cycling through names cannot grow it.
 */
const ORIGINS = new Map<string, { readonly target: Target; readonly origin: string } | null>();
const ORIGINS_MAX = 1024;

function originOf(authority: string): { readonly target: Target; readonly origin: string } | undefined {
  let known = ORIGINS.get(authority);
  if (known === undefined) {
    const target = fromAuthority(authority, 80);
    known = target ? { target, origin: `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}` } : null;
    if (ORIGINS.size >= ORIGINS_MAX) ORIGINS.clear();
    ORIGINS.set(authority, known);
  }
  return known ?? undefined;
}

/** Validate and normalise an authority with the WHATWG parser (IDNA, IPv4 forms like `0x7f.1`). */
function fromAuthority(authority: string, defaultPort: number): Target | undefined {
  let u: URL;
  try {
    u = new URL(`http://${authority}/`);
  } catch {
    return undefined;
  }
  // The parser turns "a:" into port 80 and drops ":80"; read the port from the text instead.
  const colon = authority.lastIndexOf(':');
  const explicit = colon > authority.lastIndexOf(']') ? authority.slice(colon + 1) : '';
  // An empty port (`host:`) means the default one (RFC 3986 §3.2.3).
  if (!/^\d{0,5}$/.test(explicit)) return undefined;
  const port = explicit === '' ? defaultPort : Number(explicit);
  if (!(port >= 1 && port <= 65535) || u.hostname === '') return undefined;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port, name: `${u.hostname}:${port}` };
}
