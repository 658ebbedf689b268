/**
 * The shape of a config key table. Every key/value section (`[server]`, `[@name]` clusters of either
 * type, `[smtpda]`) declares one table of these rows and nothing else; `reader.ts` reads every section
 * from its table the same way, and `docs.ts` renders every table into docs/config.md.
 */
import { formatSeconds, formatSize } from './values.js';

/** The value types a key can have. Numbers are stored in the units named in docs/config.md (ms, bytes, percent). */
export type ValueType = 'bool' | 'int' | 'size' | 'seconds' | 'percent' | 'path' | 'list' | 'durations' | 'hostport' | 'enum' | 'string';

/** A validity test with the words an error uses to say what was expected. */
export interface Check {
  readonly test: (value: string) => boolean;
  readonly expect: string;
}

interface Base {
  /** INI name, lower-case. */
  readonly key: string;
  /** Property name in the typed result (`[server]`: a ServerConfig field); the INI name when absent. */
  readonly prop?: string;
  /** One or more sentences for docs/config.md. */
  readonly doc: string;
  /** Older INI names accepted for the same key. */
  readonly aliases?: readonly string[];
  /** Never echoed in errors or logs, and blanked on error pages (`secrets.ts`). */
  readonly secret?: boolean;
  /** The section is refused without it (an empty value counts as missing). */
  readonly required?: boolean;
}

/** One key of a section's table. Numeric bounds are inclusive and in stored units (bytes, ms, percent). */
export type KeySpec =
  | (Base & { readonly type: 'bool'; readonly default: boolean | undefined })
  | (Base & {
      readonly type: 'int' | 'size' | 'seconds' | 'percent';
      /** Undefined: unset by default (the reader of the value falls back to something named in `defaultText`). */
      readonly default: number | undefined;
      readonly defaultText?: string;
      readonly min: number;
      readonly max: number;
    })
  | (Base & {
      /** Resolved against the config file's directory. */
      readonly type: 'path';
      readonly default: string | undefined;
      /** Words kept as they are instead of being resolved as paths (`console`, `off`). */
      readonly keywords?: readonly string[];
    })
  | (Base & { readonly type: 'list'; readonly default: readonly string[]; readonly item: Check })
  | (Base & { readonly type: 'durations'; readonly default: readonly number[] | undefined; readonly min: number; readonly max: number })
  | (Base & { readonly type: 'hostport'; readonly default: string; readonly defaultPort: number })
  | (Base & {
      readonly type: 'enum';
      readonly default: string;
      readonly values: readonly string[];
      /** Other spellings accepted, mapped to one of `values`. */
      readonly synonyms?: Readonly<Record<string, string>>;
    })
  | (Base & {
      readonly type: 'string';
      readonly default: string | undefined;
      /** Words for docs when the default is computed (`name`). */
      readonly defaultText?: string;
      readonly minLength?: number;
      readonly check?: Check;
    });

/** What a key accepts, in words an error message and docs/config.md share. */
export function expected(spec: KeySpec): string {
  switch (spec.type) {
    case 'bool':
      return 'yes or no (also true/false, on/off, 1/0)';
    case 'int':
      return `a whole number from ${spec.min} to ${spec.max}`;
    case 'size':
      return `a size from ${formatSize(spec.min)} to ${formatSize(spec.max)} (bytes, or with K, M, G: 512K, 5MB, 2GiB)`;
    case 'seconds':
      return `a duration from ${formatSeconds(spec.min)} to ${formatSeconds(spec.max)} (seconds, or with ms, s, m, h)`;
    case 'percent':
      return `a percentage from ${spec.min} to ${spec.max} (50 or 50%)`;
    case 'durations':
      return `a list of durations from ${formatSeconds(spec.min)} to ${formatSeconds(spec.max)} (4s, 16s, 1m)`;
    case 'hostport':
      return `host:port (a host name, an IP address or [IPv6]; port ${spec.defaultPort} when left out)`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'list':
      return `a comma-separated list of ${spec.item.expect}`;
    case 'path':
      return spec.keywords ? `${spec.keywords.join(', ')} or a file path` : 'a path';
    case 'string':
      return spec.check?.expect ?? (spec.minLength ? `at least ${spec.minLength} characters` : 'text');
  }
}

/** The default as docs/config.md writes it. */
export function defaultText(s: KeySpec): string {
  if (s.required) return '(required)';
  if ((s.type === 'string' || s.type === 'int' || s.type === 'size' || s.type === 'seconds' || s.type === 'percent') && s.defaultText) {
    return s.default === undefined && s.type !== 'string' ? `(unset: ${s.defaultText})` : s.defaultText;
  }
  if (s.default === undefined) return '(unset)';
  switch (s.type) {
    case 'bool':
      return s.default ? '`yes`' : '`no`';
    case 'size':
      return `\`${formatSize(s.default)}\``;
    case 'seconds':
      return `\`${formatSeconds(s.default)}\``;
    case 'percent':
      return `\`${s.default}%\``;
    case 'list':
      return s.default.length ? `\`${s.default.join(', ')}\`` : '(empty)';
    case 'durations':
      return s.default.length ? `\`${s.default.map(formatSeconds).join(', ')}\`` : '(empty)';
    default:
      return s.default === '' ? '(empty)' : `\`${String(s.default)}\``;
  }
}

/** Index a table by INI name and alias, refusing a name given twice (a table mistake, caught at import). */
export function indexTable(table: readonly KeySpec[]): ReadonlyMap<string, KeySpec> {
  const byName = new Map<string, KeySpec>();
  for (const spec of table) {
    for (const name of [spec.key, ...(spec.aliases ?? [])]) {
      if (byName.has(name)) throw new Error(`config key table: "${name}" is listed twice`);
      byName.set(name, spec);
    }
  }
  return byName;
}
