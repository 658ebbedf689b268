/**
 * The one reader of key/value sections. Every section (`[server]`, `[@name]` of either type,
 * `[smtpda]`) is read from its key table (`keys.ts`) here, so they all behave the same:
 *
 * - an unknown key is SKT_CONFIG_UNKNOWN_KEY with the nearest known key as a suggestion;
 * - a key and its old name both set is a duplicate (SKT_CONFIG_SYNTAX);
 * - an EMPTY value means "not set": the key's default applies, as if the line were absent (a
 *   required key is then missing). `none` empties a list whose default is not empty;
 * - a bad value is SKT_CONFIG_VALUE `expected <what the key accepts> (got "<value>")`, with
 *   `value hidden` for secret keys and the `${NAME}` reference instead of a value that came from
 *   the environment;
 * - units (`5M`, `250ms`, `50%`) and ranges as the table says; paths resolve against the
 *   directory of the config file.
 */
import path from 'node:path';
import { SkitaiError, type ConfigPlace } from '../errors.js';
import { expected, indexTable, type KeySpec } from './keys.js';
import { nearest } from './suggest.js';
import { parseBool, parseHostPort, parseInteger, parseList, parsePercent, parseSeconds, parseSize } from './values.js';

/** One `key = value` as the INI parser kept it. */
export interface RawEntry {
  readonly value: string;
  readonly line?: number;
  /** The value as written, when it named environment variables: what an error quotes instead of `value`. */
  readonly written?: string;
}

/** A key/value section before it is read: where it came from, and its entries by lower-case key. */
export interface RawSection {
  /** Config file, for messages ('' when there is none). */
  readonly file: string;
  /** Where relative paths resolve (the config file's directory). */
  readonly dir: string;
  /** As written in the file: `server`, `@backend`, `smtpda`. */
  readonly section: string;
  /** Line of the section header. */
  readonly line?: number;
  readonly entries: Iterable<readonly [string, RawEntry]>;
}

/** A section read from its table. */
export interface ReadSection {
  /** Every key of the table by `prop ?? key`: the value given, or the default. */
  readonly values: Record<string, unknown>;
  /** Props of the keys the file set (to a non-empty value). */
  readonly given: ReadonlySet<string>;
  /** File, line, section and key of a prop, for errors a domain raises after reading (checks across keys). */
  place(prop: string): ConfigPlace;
}

const INDEXES = new WeakMap<readonly KeySpec[], ReadonlyMap<string, KeySpec>>();

function indexOf(table: readonly KeySpec[]): ReadonlyMap<string, KeySpec> {
  let index = INDEXES.get(table);
  if (!index) INDEXES.set(table, (index = indexTable(table)));
  return index;
}

/** Read `raw` by `table`. Throws SkitaiError naming file, line, section and key; never a secret's value. */
export function readSection(table: readonly KeySpec[], raw: RawSection): ReadSection {
  const index = indexOf(table);
  const from = new Map<KeySpec, { key: string; entry: RawEntry }>();
  const placeOf = (key: string, line: number | undefined): ConfigPlace => ({
    ...(raw.file ? { file: raw.file } : {}),
    ...(line !== undefined ? { line } : {}),
    section: raw.section,
    key,
  });
  for (const [key, entry] of raw.entries) {
    const spec = index.get(key);
    if (!spec) {
      throw new SkitaiError('SKT_CONFIG_UNKNOWN_KEY', unknownKeyMessage(key, raw.section, index.keys()), { place: placeOf(key, entry.line) });
    }
    const earlier = from.get(spec);
    if (earlier) {
      throw new SkitaiError('SKT_CONFIG_SYNTAX', `duplicate key: "${key}" and "${earlier.key}"${earlier.entry.line !== undefined ? ` (line ${earlier.entry.line})` : ''} are the same setting`, { place: placeOf(key, entry.line) });
    }
    from.set(spec, { key, entry });
  }
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const spec of table) {
    const prop = spec.prop ?? spec.key;
    const set = from.get(spec);
    const text = set?.entry.value.trim() ?? '';
    if (text === '') {
      if (spec.required) {
        const message = set ? `"${spec.key}" is empty` : `missing "${spec.key}"`;
        throw new SkitaiError('SKT_CONFIG_VALUE', message, { place: set ? placeOf(set.key, set.entry.line) : placeOf(spec.key, raw.line) });
      }
      values[prop] = spec.type === 'hostport' ? parseHostPort(spec.default, spec.defaultPort) : copy(spec.default);
      continue;
    }
    given.add(prop);
    values[prop] = convert(spec, text, raw.dir, set!.entry, placeOf(set!.key, set!.entry.line));
  }
  return {
    values,
    given,
    place(prop: string): ConfigPlace {
      const spec = table.find((s) => (s.prop ?? s.key) === prop);
      const set = spec && from.get(spec);
      return set ? placeOf(set.key, set.entry.line) : placeOf(spec?.key ?? prop, raw.line);
    },
  };
}

/** `value` converted by `spec`, with the same checks and the same error as a value in a file. */
export function convert(spec: KeySpec, text: string, dir: string, entry: RawEntry, place: ConfigPlace): unknown {
  const bad = (why = `expected ${expected(spec)}`): never => {
    const shown = spec.secret ? 'value hidden' : entry.written !== undefined ? `got "${oneLine(entry.written)}", value not shown` : `got "${oneLine(text)}"`;
    throw new SkitaiError('SKT_CONFIG_VALUE', `${why} (${shown})`, { place });
  };
  switch (spec.type) {
    case 'bool':
      return parseBool(text) ?? bad();
    case 'int':
    case 'size':
    case 'seconds':
    case 'percent': {
      const parse = spec.type === 'int' ? parseInteger : spec.type === 'size' ? parseSize : spec.type === 'seconds' ? parseSeconds : parsePercent;
      const n = parse(text);
      return n !== undefined && n >= spec.min && n <= spec.max ? n : bad();
    }
    case 'durations': {
      const items = parseList(text).map(parseSeconds);
      return items.length > 0 && items.every((n) => n !== undefined && n >= spec.min && n <= spec.max) ? items : bad();
    }
    case 'hostport':
      return parseHostPort(text, spec.defaultPort) ?? bad();
    case 'enum': {
      const word = text.toLowerCase();
      const canonical = spec.synonyms?.[word] ?? word;
      return spec.values.includes(canonical) ? canonical : bad();
    }
    case 'list': {
      if (text.toLowerCase() === 'none') return [];
      const items = parseList(text);
      const wrong = items.find((item) => !spec.item.test(item));
      if (wrong === undefined) return items;
      return bad(entry.written === undefined && !spec.secret ? `expected ${spec.item.expect}, "${wrong}" is not one` : `expected ${spec.item.expect}`);
    }
    case 'path': {
      const word = text.toLowerCase();
      if (spec.keywords?.includes(word)) return word;
      return path.resolve(dir, text);
    }
    case 'string': {
      if (spec.minLength !== undefined && text.length < spec.minLength) bad(`expected at least ${spec.minLength} characters`);
      if (spec.check && !spec.check.test(text)) bad(`expected ${spec.check.expect}`);
      return text;
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\n/g, ' ');
}

// A copy, so freezing a config never freezes a table's default array.
function copy(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}

function unknownKeyMessage(key: string, section: string, known: Iterable<string>): string {
  const names = [...known];
  // Edit distance finds typos; the underscore-free match finds `connecttimeout` for `connect_timeout`.
  const flat = key.replace(/[_-]/g, '');
  const near = nearest(key, names) ?? names.find((n) => n.replace(/_/g, '') === flat);
  return `unknown key "${key}" in [${section}]${near ? `; did you mean "${near}"?` : ''} (docs/config.md lists every key)`;
}
