import { SkitaiError } from '../errors.js';

/** A parameter converter of a route rule: `<name>`, `<int:n>`, `<float:x>`, `<path:p>`. */
export type ParamKind = 'string' | 'int' | 'float' | 'path';

/** A compiled route rule. Static rules (no params) are matched by a map lookup, not a regex. */
export interface Rule {
  readonly source: string;
  readonly isStatic: boolean;
  /** Declared parameter names, in rule order. */
  readonly names: readonly string[];
  /** The converter of each parameter, in rule order. */
  readonly kinds: readonly ParamKind[];
  /** Parse `path` (percent-encoded) into params, or undefined when the rule does not match. */
  match(path: string): Record<string, string | number> | undefined;
}

const PARAM = /<(?:(string|int|float|path):)?([A-Za-z_$][\w$]*)>/g;
const PATTERNS: Record<ParamKind, string> = {
  string: '([^/]+)',
  int: '(-?\\d+)',
  float: '(-?\\d+(?:\\.\\d+)?)',
  path: '(.+)',
};

/** Compile a rule such as `/item/<int:id>/<path:rest>`. Throws SKT_APP_RULE for malformed rules. */
export function compileRule(source: string): Rule {
  if (!source.startsWith('/')) throw new SkitaiError('SKT_APP_RULE', `route rule "${source}" must start with "/"`);
  const names: string[] = [];
  const kinds: ParamKind[] = [];
  let pattern = '';
  let last = 0;
  for (const m of source.matchAll(PARAM)) {
    pattern += escapeRegex(source.slice(last, m.index));
    const kind = (m[1] ?? 'string') as ParamKind;
    const name = m[2]!;
    if (names.includes(name)) throw new SkitaiError('SKT_APP_RULE', `route rule "${source}" repeats parameter "${name}"`);
    names.push(name);
    kinds.push(kind);
    pattern += PATTERNS[kind];
    last = m.index! + m[0].length;
  }
  const tail = source.slice(last);
  if (/[<>]/.test(tail) || /[<>]/.test(source.replace(PARAM, ''))) {
    throw new SkitaiError('SKT_APP_RULE', `route rule "${source}" has a malformed <parameter>`);
  }
  if (names.length === 0) {
    return { source, isStatic: true, names, kinds, match: (path) => (path === source ? {} : undefined) };
  }
  pattern += escapeRegex(tail);
  const regex = new RegExp(`^${pattern}$`);
  return {
    source,
    isStatic: false,
    names,
    kinds,
    match(path) {
      const m = regex.exec(path);
      if (!m) return undefined;
      const params: Record<string, string | number> = {};
      for (let i = 0; i < names.length; i++) {
        const value = convertParam(kinds[i]!, m[i + 1]!);
        if (value === undefined) return undefined;
        params[names[i]!] = value;
      }
      return params;
    },
  };
}

/**
 * A matched parameter's value: a number for `int` and `float` (undefined when it is not a finite
 * number or an unsafe integer), else the percent-decoded text (undefined when the escapes are bad).
 */
export function convertParam(kind: ParamKind, raw: string): string | number | undefined {
  if (kind === 'int' || kind === 'float') {
    const n = Number(raw);
    if (!Number.isFinite(n) || (kind === 'int' && !Number.isSafeInteger(n))) return undefined;
    return n;
  }
  return safeDecode(raw);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function safeDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
