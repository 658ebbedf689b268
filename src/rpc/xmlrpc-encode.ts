import { SkitaiError } from '../errors.js';
import { INVALID_XML_CHAR } from './xml.js';

/**
 * XML-RPC `<value>` encoding (decoding, which accepts more spellings, is in `xmlrpc-decode.ts`).
 *
 * | JS                                  | XML-RPC                                             |
 * |-------------------------------------|-----------------------------------------------------|
 * | integer number in int32             | `<int>`                                             |
 * | other integer number, BigInt        | `<i8>` (extension; decoded back to number when safe)|
 * | other finite number                 | `<double>` (NaN, ±Infinity refuse to encode)        |
 * | boolean, string                     | `<boolean>`, `<string>` (untyped text decodes too)  |
 * | Date                                | `<dateTime.iso8601>` in UTC, `19980717T14:08:55`   |
 * | Buffer / Uint8Array / ArrayBuffer   | `<base64>` (decodes to Buffer)                      |
 * | plain object                        | `<struct>` (members whose value is undefined are skipped) |
 * | array                               | `<array>` (undefined and holes become `<nil/>`)     |
 * | null                                | `<nil/>` (extension)                                |
 */

const MAX_ENCODE_DEPTH = 1000;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Appends `<value>…</value>` for `value` to `out`. Throws SkitaiError `SKT_RPC_ENCODE` for what XML-RPC cannot carry. */
export function encodeValue(value: unknown, out: string[], path = 'value'): void {
  new Encoder(out).value(value, path, 0);
}

class Encoder {
  private readonly open = new Set<object>(); // containers being encoded: meeting one again is a cycle

  constructor(private readonly out: string[]) {}

  value(v: unknown, path: string, depth: number): void {
    const out = this.out;
    switch (typeof v) {
      case 'string':
        out.push('<value><string>', escapeXml(v, path), '</string></value>');
        return;
      case 'boolean':
        out.push(v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>');
        return;
      case 'number':
        out.push(encodeNumber(v, path));
        return;
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) throw encodeError(path, `BigInt ${v} does not fit in a 64-bit <i8>`);
        out.push('<value><i8>', v.toString(), '</i8></value>');
        return;
      case 'undefined':
        throw encodeError(path, 'undefined cannot be encoded (use null for <nil/>)');
      case 'function':
      case 'symbol':
        throw encodeError(path, `a ${typeof v} cannot be encoded`);
    }
    if (v === null) {
      out.push('<value><nil/></value>');
      return;
    }
    const obj = v as object;
    if (obj instanceof Date) {
      out.push('<value><dateTime.iso8601>', formatDate(obj, path), '</dateTime.iso8601></value>');
      return;
    }
    if (obj instanceof Uint8Array || obj instanceof ArrayBuffer) {
      const bytes = obj instanceof Uint8Array ? Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength) : Buffer.from(obj);
      out.push('<value><base64>', bytes.toString('base64'), '</base64></value>');
      return;
    }
    if (depth >= MAX_ENCODE_DEPTH) throw encodeError(path, `nesting deeper than ${MAX_ENCODE_DEPTH} levels`);
    if (this.open.has(obj)) throw encodeError(path, 'a cycle (the value contains itself)');
    this.open.add(obj);
    if (Array.isArray(obj)) {
      out.push('<value><array><data>\n');
      for (let i = 0; i < obj.length; i++) {
        const item: unknown = obj[i];
        if (item === undefined) out.push('<value><nil/></value>\n');
        else {
          this.value(item, `${path}[${i}]`, depth + 1);
          out.push('\n');
        }
      }
      out.push('</data></array></value>');
    } else if (isPlainObject(obj)) {
      out.push('<value><struct>\n');
      for (const [key, item] of Object.entries(obj)) {
        if (item === undefined) continue;
        out.push('<member>\n<name>', escapeXml(key, `${path} key`), '</name>\n');
        this.value(item, `${path}.${key}`, depth + 1);
        out.push('\n</member>\n');
      }
      out.push('</struct></value>');
    } else {
      throw encodeError(path, `a ${obj.constructor?.name ?? 'non-plain'} object cannot be encoded (only plain objects become <struct>)`);
    }
    this.open.delete(obj);
  }
}

function encodeNumber(v: number, path: string): string {
  if (!Number.isFinite(v)) throw encodeError(path, `${v} cannot be encoded (XML-RPC <double> has no NaN or Infinity)`);
  if (Number.isInteger(v)) {
    if (v >= INT32_MIN && v <= INT32_MAX) return `<value><int>${v === 0 ? 0 : v}</int></value>`;
    // Doubles at or past 2^63 are exact integers too, but too big for <i8>: send them as <double>.
    if (v >= -(2 ** 63) && v < 2 ** 63) return `<value><i8>${BigInt(v).toString()}</i8></value>`;
  }
  return `<value><double>${String(v)}</double></value>`;
}

function isPlainObject(obj: object): boolean {
  const proto: unknown = Object.getPrototypeOf(obj);
  return proto === Object.prototype || proto === null;
}

/**
 * Escapes text for element content. Characters XML 1.0 cannot carry at all (most C0 controls,
 * lone surrogates, U+FFFE/U+FFFF) are refused rather than stripped: silently changing a value
 * is worse than a clear fault, and binary data belongs in a Buffer (`<base64>`).
 * CR is written as `&#13;` because a parser turns a literal CR into LF.
 */
export function escapeXml(s: string, path = 'value'): string {
  const bad = INVALID_XML_CHAR.exec(s);
  if (bad) {
    const cp = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    throw encodeError(path, `string has U+${cp} at index ${bad.index}, which XML 1.0 cannot carry (send bytes as a Buffer)`);
  }
  return /[&<>\r]/.test(s) ? s.replace(/[&<>\r]/g, (c) => ESCAPES[c] ?? c) : s;
}

/** Like {@link escapeXml} but replaces what XML cannot carry with U+FFFD: for fault strings, which must never fail. */
export function escapeXmlLossy(s: string): string {
  return escapeXml(s.replace(new RegExp(INVALID_XML_CHAR.source, 'gu'), '\uFFFD'));
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

/** Python's `xmlrpc.client` reads only this exact form with `use_builtin_types`, so no zone or fraction is written. */
function formatDate(d: Date, path: string): string {
  const t = d.getTime();
  if (Number.isNaN(t)) throw encodeError(path, 'an invalid Date cannot be encoded');
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw encodeError(path, `year ${year} does not fit dateTime.iso8601`);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${String(year).padStart(4, '0')}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

function encodeError(path: string, message: string): SkitaiError {
  return new SkitaiError('SKT_RPC_ENCODE', `XML-RPC cannot encode ${path}: ${message}`);
}
