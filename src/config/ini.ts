/**
 * Skitai's INI dialect (the original's `confparse`), parsed into sections that remember the line of
 * every key and line. No typing or validation happens here; `load.ts` does that.
 *
 * - `[name]`       key/value: `key = value` or `key: value`, keys case-insensitive, indented lines
 *                  continue the previous value (joined with '\n'), a duplicate key is an error.
 * - `[name:line]`  raw lines in order, duplicates kept.
 * - `[name:data]`  raw text up to the next section header, untouched.
 * `;` and `#` start full-line comments, and inline comments when preceded by whitespace.
 * Values and `:line` lines may use `${NAME}` and `${NAME:-default}` (env.ts); `:data` text is raw.
 */
import { SkitaiError } from '../errors.js';
import { interpolate, type Env } from './env.js';

/** One `key = value` of a key/value section. */
export interface IniEntry {
  /** Lower-cased. */
  readonly key: string;
  readonly value: string;
  readonly line: number;
  /** The value as written, when it named environment variables: what an error may quote instead of `value`. */
  readonly written?: string;
}

/** One raw line of a `:line` section, comment-free and trimmed. */
export interface IniLine {
  readonly text: string;
  readonly line: number;
}

/** A parsed section; `line` is the line of its header. */
export type IniSection =
  | { readonly kind: 'keys'; readonly name: string; readonly line: number; readonly entries: ReadonlyMap<string, IniEntry> }
  | { readonly kind: 'lines'; readonly name: string; readonly line: number; readonly lines: readonly IniLine[] }
  | { readonly kind: 'data'; readonly name: string; readonly line: number; readonly text: string };

/** A parsed file: sections by name (without the `:line`/`:data` suffix), in file order. */
export interface IniDocument {
  readonly file: string;
  readonly sections: ReadonlyMap<string, IniSection>;
}

type MutableEntry = { -readonly [K in keyof IniEntry]: IniEntry[K] };

type Building =
  | { kind: 'keys'; name: string; line: number; entries: Map<string, MutableEntry> }
  | { kind: 'lines'; name: string; line: number; lines: IniLine[] }
  | { kind: 'data'; name: string; line: number; raw: string[] };

// Whitespace before the marker is what makes it a comment: `a;b` and `#fff` inside values survive.
const INLINE_COMMENT = /\s[;#].*$/;

/** Remove an inline ` ;comment` / ` #comment` and surrounding whitespace. */
export function stripInlineComment(text: string): string {
  return text.replace(INLINE_COMMENT, '').trim();
}

/**
 * Parse INI text. Throws SKT_CONFIG_SYNTAX naming file and line. Messages never quote the offending
 * line: it may hold a secret (`passphrase secret` with the `=` forgotten). `${NAME}` references are
 * read from `env`; an unset one without a default is SKT_CONFIG_ENV, naming the variable only.
 */
export function parseIni(text: string, file = '<inline>', env: Env = process.env): IniDocument {
  const sections = new Map<string, IniSection>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let current: Building | undefined;
  // The entry an indented line continues; blank and comment lines do not end it, a new key does.
  let last: MutableEntry | undefined;

  const fail = (line: number, message: string, key?: string): never => {
    throw new SkitaiError('SKT_CONFIG_SYNTAX', message, {
      place: { file, line, ...(current ? { section: sectionLabel(current) } : {}), ...(key ? { key } : {}) },
    });
  };
  const expand = (no: number, raw: string, key?: string): string =>
    interpolate(raw, env, (code, message) => {
      throw new SkitaiError(code, message, {
        place: { file, line: no, ...(current ? { section: sectionLabel(current) } : {}), ...(key ? { key } : {}) },
      });
    });
  const close = (): void => {
    if (current) sections.set(current.name, finish(current));
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const no = i + 1;
    // An indented header is still a header (read as a continuation it would corrupt a value), but
    // inside :data only a '[' in column 1 ends the text, so data may hold indented brackets.
    if (raw.startsWith('[') || (current?.kind !== 'data' && raw.trimStart().startsWith('['))) {
      close();
      last = undefined;
      current = header(stripInlineComment(raw), no, fail);
      if (sections.has(current.name)) {
        fail(no, `duplicate section [${sectionLabel(current)}] (first on line ${sections.get(current.name)!.line})`);
      }
      continue;
    }
    if (current?.kind === 'data') {
      current.raw.push(raw);
      continue;
    }
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) continue;
    if (!current) fail(no, 'line outside any section: start the file with a [section] header');
    const content = stripInlineComment(raw);
    if (current!.kind === 'lines') {
      current!.lines.push({ text: expand(no, content), line: no });
      continue;
    }
    const keys = current as Extract<Building, { kind: 'keys' }>;
    if (/^\s/.test(raw)) {
      if (!last) fail(no, 'indented continuation line with no key before it');
      if (content !== '') {
        const value = expand(no, content, last!.key);
        if (last!.written !== undefined || content.includes('${')) last!.written = joinLines(last!.written ?? last!.value, content);
        last!.value = joinLines(last!.value, value);
      }
      continue;
    }
    const at = delimiter(content);
    if (at < 0) fail(no, 'expected "key = value" or "key: value"');
    const key = content.slice(0, at).trim().toLowerCase();
    if (key === '') fail(no, 'missing key before "=" or ":"');
    const seen = keys.entries.get(key);
    if (seen) fail(no, `duplicate key "${key}" (first set on line ${seen.line})`, key);
    const written = content.slice(at + 1).trim();
    const value = expand(no, written, key);
    last = { key, value, line: no, ...(written.includes('${') ? { written } : {}) };
    keys.entries.set(key, last);
  }
  close();
  return { file, sections };
}

function joinLines(before: string, next: string): string {
  return before === '' ? next : `${before}\n${next}`;
}

/** The first `=` or `:`, whichever comes first (so `members = host:port` splits at `=`). */
function delimiter(content: string): number {
  const eq = content.indexOf('=');
  const colon = content.indexOf(':');
  if (eq < 0) return colon;
  if (colon < 0) return eq;
  return Math.min(eq, colon);
}

function header(text: string, line: number, fail: (line: number, message: string) => never): Building {
  if (!text.endsWith(']')) fail(line, 'section header does not close: it must end with "]"');
  const inner = text.slice(1, -1).trim();
  if (inner === '' || /[[\]]/.test(inner)) fail(line, 'malformed section header');
  const colon = inner.lastIndexOf(':');
  const suffix = colon < 0 ? '' : inner.slice(colon + 1).trim().toLowerCase();
  const name = colon < 0 ? inner : inner.slice(0, colon).trim();
  if (name === '') fail(line, 'section header has no name');
  if (suffix === '') return { kind: 'keys', name, line, entries: new Map() };
  if (suffix === 'line') return { kind: 'lines', name, line, lines: [] };
  if (suffix === 'data') return { kind: 'data', name, line, raw: [] };
  return fail(line, `unknown section type ":${suffix}" (use [name], [name:line] or [name:data])`);
}

function finish(b: Building): IniSection {
  if (b.kind === 'keys') return { kind: 'keys', name: b.name, line: b.line, entries: b.entries };
  if (b.kind === 'lines') return { kind: 'lines', name: b.name, line: b.line, lines: b.lines };
  // Trailing blank lines belong to the gap before the next header, not to the data.
  const raw = [...b.raw];
  while (raw.length > 0 && raw[raw.length - 1]!.trim() === '') raw.pop();
  return { kind: 'data', name: b.name, line: b.line, text: raw.join('\n') };
}

/** `server`, `routes:line`, `notes:data`: how the section is written in the file. */
export function sectionLabel(s: { kind: 'keys' | 'lines' | 'data'; name: string }): string {
  return s.kind === 'keys' ? s.name : `${s.name}:${s.kind === 'lines' ? 'line' : 'data'}`;
}
