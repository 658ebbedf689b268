import { SkitaiError } from '../errors.js';

/** `@name/rest/of/path?query` -> cluster name and path. */
export interface ClusterTarget {
  readonly cluster: string;
  /** Starts with `/`; keeps the query. */
  readonly path: string;
}

/** A single URL's parts as a call needs them. */
export interface UrlTarget {
  /** `http(s)://host:port`, no credentials. */
  readonly origin: string;
  readonly path: string;
  /** `host:port`, the Result's `node`. */
  readonly node: string;
  /** `user:password` from the URL, if it had them. */
  readonly login: string | undefined;
}

/** Whether a call target names a cluster. */
export function isClusterTarget(target: string): boolean {
  return target.startsWith('@');
}

export function parseClusterTarget(target: string): ClusterTarget {
  const m = /^@([\w.-]+)(\/.*|\?.*)?$/s.exec(target);
  if (!m) throw new SkitaiError('SKT_CLIENT_USAGE', `a cluster target looks like "@name/path", got ${JSON.stringify(target)}`);
  const rest = m[2] ?? '/';
  return { cluster: m[1]!, path: rest.startsWith('?') ? `/${rest}` : rest };
}

export function parseUrl(url: string): UrlTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SkitaiError('SKT_CLIENT_USAGE', `not an absolute URL: ${JSON.stringify(url)} (use "@name/path" for a cluster)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SkitaiError('SKT_CLIENT_USAGE', `only http and https URLs can be called, got ${u.protocol}`);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const login = u.username ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : undefined;
  return { origin: `${u.protocol}//${u.host}`, path: `${u.pathname}${u.search}`, node: `${u.hostname}:${port}`, login };
}
