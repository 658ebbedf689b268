import { resolve, sep } from 'node:path';

/** A request path decoded once and checked, or the reason it was refused. */
export type DecodedPath =
  | { readonly ok: true; readonly path: string; readonly slash: boolean }
  | { readonly ok: false; readonly reason: string };

/**
 * Decode a still percent-encoded request path exactly once and refuse what could climb out of the
 * web root or confuse the file system: malformed escapes (including invalid UTF-8), NUL bytes and
 * backslashes (raw or encoded), and `..` segments (raw or encoded).
 *
 * Decoding once is the point: `%252e%252e` becomes the literal name `%2e%2e`, never `..`.
 * `slash` tells whether the decoded path ends with `/` (a directory was asked for).
 */
export function decodePath(raw: string): DecodedPath {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: 'malformed percent-encoding in the path' };
  }
  // Raw and encoded forms alike (decoding leaves a raw byte as it was). A backslash is a plain
  // name byte on POSIX but a separator to Windows and to some proxies and caches in front of us.
  if (path.includes('\0') || path.includes('\\')) return { ok: false, reason: 'NUL byte or backslash in the path' };
  // Split after decoding so that `..%2f` and `%2e%2e/` are seen as the `..` segments they become.
  for (const segment of path.split('/')) {
    if (segment === '..') return { ok: false, reason: 'a `..` segment in the path' };
  }
  return { ok: true, path, slash: path.endsWith('/') };
}

/** True when `target` is `base` itself or lies under it (both absolute and normalised). */
export function isInside(base: string, target: string): boolean {
  if (target === base) return true;
  const prefix = base.endsWith(sep) ? base : base + sep;
  return target.startsWith(prefix);
}

/**
 * The absolute file-system path of a decoded request path under `root`, or undefined when it would
 * leave `root`. The leading `./` keeps an absolute request path (`/etc/passwd`) relative to root.
 */
export function resolveUnder(root: string, decoded: string): string | undefined {
  const target = resolve(root, './' + decoded);
  return isInside(root, target) ? target : undefined;
}
