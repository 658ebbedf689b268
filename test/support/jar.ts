/**
 * A minimal browser-like cookie jar for fetch(): keeps name=value from Set-Cookie, drops a cookie
 * on Max-Age=0, sends them back as one Cookie header. Paths and domains are ignored (one test host).
 */
export class CookieJar {
  readonly values = new Map<string, string>();

  constructor(readonly base: string) {}

  /** GET (or `init`) `path` with the jar's cookies, without following redirects; stores what comes back. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.values.size > 0) headers.set('cookie', this.header());
    const res = await fetch(this.base + path, { redirect: 'manual', ...init, headers });
    this.store(res.headers.getSetCookie());
    return res;
  }

  store(lines: string[]): void {
    for (const line of lines) {
      const [pair, ...attrs] = line.split(/;\s*/);
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      if (attrs.some((a) => /^max-age=0$/i.test(a))) this.values.delete(name);
      else this.values.set(name, pair!.slice(eq + 1));
    }
  }

  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}
