/**
 * Host names -> a value (a route table, a TLS context), as nginx's `server_name` reads them:
 * `example.com` exactly, `*.example.com` any subdomain (any depth), `.example.com` both. An exact
 * name wins, then the longest suffix. Matching ignores case, the port and a trailing dot.
 */
// Distinct Host header values seen are few; past this many the memory starts over.
const MEMO_MAX = 1000;

/** Host names and patterns -> values. */
export class HostMap<T> {
  readonly #exact = new Map<string, T>();
  /** `.example.com` gives example.com too, but below an exact `example.com`. */
  readonly #dotExact = new Map<string, T>();
  readonly #suffix = new Map<string, T>();
  readonly #memo = new Map<string, T | null>();

  get size(): number {
    return this.#exact.size + this.#dotExact.size + this.#suffix.size;
  }

  /** Add a name or pattern (checked by the config: config/hostline.ts); a later value for a name it has is ignored. */
  add(pattern: string, value: T): void {
    const name = pattern.toLowerCase();
    const put = (map: Map<string, T>, key: string): void => {
      if (!map.has(key)) map.set(key, value);
    };
    if (name.startsWith('*.')) put(this.#suffix, name.slice(2));
    else if (name.startsWith('.')) {
      put(this.#suffix, name.slice(1));
      put(this.#dotExact, name.slice(1));
    } else put(this.#exact, name);
    this.#memo.clear();
  }

  /** The value for a Host header or SNI name (port, case and a trailing dot ignored), or undefined. */
  find(host: string): T | undefined {
    const memo = this.#memo.get(host);
    if (memo !== undefined) return memo ?? undefined;
    const found = this.#lookup(hostName(host));
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(host, found ?? null);
    return found;
  }

  #lookup(name: string): T | undefined {
    const exact = this.#exact.get(name) ?? this.#dotExact.get(name);
    if (exact !== undefined) return exact;
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
      const v = this.#suffix.get(name.slice(i + 1));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

/** `Example.COM:8443` -> `example.com`, `[::1]:80` -> `[::1]`, `example.com.` -> `example.com`. */
export function hostName(host: string): string {
  let name = host;
  if (name.charCodeAt(0) === 91) {
    const end = name.indexOf(']');
    if (end > 0) name = name.slice(0, end + 1);
  } else {
    const colon = name.lastIndexOf(':');
    if (colon >= 0) name = name.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name.toLowerCase();
}
