import { SkitaiError } from '../errors.js';
import { XmlScanner, type XmlHandler } from './xml.js';

/**
 * XML-RPC decoding straight from the scanner's events (no intermediate tree: a large array of
 * structs would otherwise cost millions of short-lived nodes). The value mapping is the one in
 * `xmlrpc-encode.ts`, plus what other encoders send: untyped `<value>` text (a string), `i1`/`i2`,
 * `float`, namespaced `<ex:i8>`/`<ex:nil/>`, Python's `inf`/`nan`, ISO dates with dashes/zones.
 */

/** A decoded message; the envelope checks (one param, fault shape) are left to `xmlrpc.ts`. */
export type DecodedCall = { kind: 'call'; method: string; params: unknown[] };
export type DecodedResponse = { kind: 'response'; params: unknown[] } | { kind: 'fault'; value: unknown };

/** Limits on an XML-RPC message. */
export interface XmlRpcLimits {
  /**
   * Deepest nesting of values, counted in arrays and structs: a scalar param is depth 0, `[1]` and
   * `{a: 1}` depth 1, `[[1]]` depth 2. Default {@link XMLRPC_DEFAULT_MAX_DEPTH}.
   */
  maxDepth?: number;
  /** Largest message accepted, in bytes of UTF-8 (default 10 MiB). */
  maxBytes?: number;
}

/** 64 levels of arrays/structs: far past any real message, far below what could hurt the server. */
export const XMLRPC_DEFAULT_MAX_DEPTH = 64;

/**
 * XML elements one array/struct level takes: `<value><array><data>` or `<value><struct><member>`.
 * The scanner's element bound is derived from the value bound with it, so that the decoder, which
 * counts values, is the one that refuses (with a message in values, as the limit is documented),
 * while the scanner still bounds any deeper input before a decoder ever sees it.
 */
const ELEMENTS_PER_LEVEL = 3;
/** Elements outside and below the nested levels: methodCall/params/param (or methodResponse/fault) + value + scalar. */
const ELEMENTS_AROUND = 5;

/** Decodes a `methodCall` or `methodResponse` document; throws SKT_RPC_PARSE / SKT_RPC_INVALID / SKT_RPC_LIMIT. */
export function decodeMessage(body: Buffer | Uint8Array | string, root: 'methodCall', limits?: XmlRpcLimits): DecodedCall;
export function decodeMessage(body: Buffer | Uint8Array | string, root: 'methodResponse', limits?: XmlRpcLimits): DecodedResponse;
export function decodeMessage(body: Buffer | Uint8Array | string, root: 'methodCall' | 'methodResponse', limits: XmlRpcLimits = {}): DecodedCall | DecodedResponse {
  const maxDepth = limits.maxDepth ?? XMLRPC_DEFAULT_MAX_DEPTH;
  // The element bound lets exactly the first level too many open, so the decoder refuses it.
  const scanner = new XmlScanner(body, { maxBytes: limits.maxBytes, maxDepth: ELEMENTS_PER_LEVEL * maxDepth + ELEMENTS_AROUND });
  const decoder = new Decoder(scanner, root, maxDepth);
  scanner.scan(decoder);
  return decoder.result!; // the scanner guarantees a closed root, the decoder that it is `root`
}

const SCALARS = new Set(['string', 'int', 'i4', 'i8', 'i1', 'i2', 'boolean', 'double', 'float', 'dateTime.iso8601', 'base64', 'nil']);
const TYPES = new Set([...SCALARS, 'array', 'struct']);
/** Which children each container allows; a tag absent here holds text only. */
const CHILDREN: Readonly<Record<string, ReadonlySet<string>>> = {
  methodCall: new Set(['methodName', 'params']),
  methodResponse: new Set(['params', 'fault']),
  params: new Set(['param']),
  param: new Set(['value']),
  fault: new Set(['value']),
  value: TYPES,
  array: new Set(['data']),
  data: new Set(['value']),
  struct: new Set(['member']),
  member: new Set(['name', 'value']),
};
/** Containers that hold any number of children; the others hold at most one of each. */
const LISTS = new Set(['params', 'data', 'struct']);
/** A bit per child tag of the one-of-each containers, for the duplicate check. */
const BIT: Readonly<Record<string, number>> = { methodName: 1, params: 2, fault: 4, value: 8, data: 16, name: 32 };

/** One open element. Frames are reused from depth to depth: a big document opens millions of elements. */
interface Frame {
  tag: string; // local name
  pos: number;
  text: string; // text-only tags and <value>; whitespace elsewhere is dropped
  count: number; // child elements opened so far
  first: string; // the first child's tag
  seen: number; // BIT of each child seen
  value: unknown; // the child's value; for lists, the array or object being filled
  hasValue: boolean;
  name: string | undefined; // <member>'s <name>, <methodCall>'s <methodName>
}

class Decoder implements XmlHandler {
  private readonly frames: Frame[] = [];
  private depth = 0;
  /** Arrays and structs open right now: the nesting the limit counts. */
  private containers = 0;
  result: DecodedCall | DecodedResponse | undefined;

  constructor(
    private readonly scanner: XmlScanner,
    private readonly root: string,
    private readonly maxDepth: number,
  ) {}

  open(rawName: string, pos: number): void {
    const tag = localName(rawName);
    if (this.depth === 0) {
      if (tag !== this.root) throw this.invalid(pos, `expected <${this.root}>, found <${rawName}>`);
    } else {
      this.checkChild(this.frames[this.depth - 1]!, tag, rawName, pos);
      if ((tag === 'array' || tag === 'struct') && ++this.containers > this.maxDepth) {
        throw new SkitaiError('SKT_RPC_LIMIT', `XML-RPC values nested deeper than ${this.maxDepth} levels of arrays and structs at ${this.scanner.locate(pos)}`);
      }
    }
    let f = this.frames[this.depth];
    if (!f) {
      f = { tag, pos, text: '', count: 0, first: '', seen: 0, value: undefined, hasValue: false, name: undefined };
      this.frames.push(f);
    }
    this.depth++;
    f.tag = tag;
    f.pos = pos;
    f.text = '';
    f.count = 0;
    f.first = '';
    f.seen = 0;
    f.value = tag === 'data' || tag === 'params' ? [] : tag === 'struct' ? {} : undefined;
    f.hasValue = false;
    f.name = undefined;
  }

  private checkChild(parent: Frame, tag: string, rawName: string, pos: number): void {
    const allowed = CHILDREN[parent.tag];
    if (!allowed) throw this.invalid(pos, `<${rawName}> is not allowed inside <${parent.tag}>`);
    if (!allowed.has(tag)) {
      if (parent.tag === 'value') throw this.invalid(pos, `unknown value type <${rawName}>`);
      throw this.invalid(pos, `expected ${[...allowed].map((t) => `<${t}>`).join(' or ')} inside <${parent.tag}>, found <${rawName}>`);
    }
    if (parent.count++ === 0) parent.first = tag;
    if (LISTS.has(parent.tag)) return;
    if (parent.tag === 'value') {
      if (parent.count > 1) throw this.invalid(pos, '<value> must hold exactly one type element');
      if (/[^ \t\n]/.test(parent.text)) throw this.invalid(pos, 'unexpected text in <value> next to a type element');
      return;
    }
    if (parent.tag === 'methodResponse' && parent.count > 1) throw this.invalid(pos, '<methodResponse> must hold exactly one <params> or <fault>');
    if (parent.tag === 'methodCall' && (parent.count === 1) !== (tag === 'methodName')) {
      throw this.invalid(pos, '<methodCall> must hold <methodName> first, then an optional <params>');
    }
    const bit = BIT[tag] ?? 0;
    if (parent.seen & bit) throw this.invalid(pos, `<${parent.tag}> must hold only one <${tag}>`);
    parent.seen |= bit;
  }

  text(text: string, pos: number): void {
    const top = this.frames[this.depth - 1]!;
    if (!CHILDREN[top.tag]) top.text += text;
    else if (top.tag === 'value') {
      if (top.count === 0) top.text += text; // whitespace may be all of an untyped string value
      else if (/[^ \t\n]/.test(text)) throw this.invalid(pos, 'unexpected text in <value> next to a type element');
    } else if (/[^ \t\n]/.test(text)) {
      throw this.invalid(pos, `unexpected text in <${top.tag}>`);
    }
  }

  close(): void {
    const f = this.frames[--this.depth]!;
    if (f.tag === 'array' || f.tag === 'struct') this.containers--;
    const v = this.finish(f);
    f.value = undefined; // the frame is reused; do not keep the value alive through it
    if (this.depth === 0) return;
    const parent = this.frames[this.depth - 1]!;
    if (parent.tag === 'data' || parent.tag === 'params') (parent.value as unknown[]).push(v);
    else if (f.tag === 'member') {
      // defineProperty, not assignment: a member named "__proto__" must stay a plain key.
      Object.defineProperty(parent.value as object, f.name!, { value: v, enumerable: true, writable: true, configurable: true });
    } else if (f.tag === 'name' || f.tag === 'methodName') parent.name = v as string;
    else {
      parent.value = v;
      parent.hasValue = true;
    }
  }

  /** The value an element stands for, once it is complete. */
  private finish(f: Frame): unknown {
    switch (f.tag) {
      case 'value':
        return f.hasValue ? f.value : f.text; // untyped: the text as-is, not trimmed
      case 'string':
      case 'name':
        return f.text;
      case 'int':
      case 'i4':
      case 'i8':
      case 'i1':
      case 'i2':
        return decodeInt(f.text) ?? this.bad(f);
      case 'double':
      case 'float':
        return decodeDouble(f.text) ?? this.bad(f);
      case 'boolean':
        return decodeBoolean(f.text) ?? this.bad(f);
      case 'dateTime.iso8601':
        return decodeDate(f.text) ?? this.bad(f);
      case 'base64':
        return decodeBase64(f.text) ?? this.bad(f);
      case 'nil':
        if (/[^ \t\n]/.test(f.text)) throw this.invalid(f.pos, '<nil/> must be empty');
        return null;
      case 'array':
        return f.hasValue ? f.value : [];
      case 'data':
      case 'struct':
      case 'params':
        return f.value;
      case 'member':
        if (f.name === undefined || !f.hasValue) throw this.invalid(f.pos, '<member> must hold one <name> and one <value>');
        return f.value;
      case 'param':
      case 'fault':
        if (!f.hasValue) throw this.invalid(f.pos, `<${f.tag}> must hold exactly one <value>`);
        return f.value;
      case 'methodName': {
        const method = f.text.trim();
        if (!/^[A-Za-z0-9_.:/]+$/.test(method)) throw this.invalid(f.pos, `bad method name ${JSON.stringify(method.slice(0, 100))}`);
        return method;
      }
      case 'methodCall':
        if (f.name === undefined) throw this.invalid(f.pos, '<methodCall> must hold <methodName>');
        this.result = { kind: 'call', method: f.name, params: f.hasValue ? (f.value as unknown[]) : [] };
        return undefined;
      case 'methodResponse':
        if (f.count === 0) throw this.invalid(f.pos, '<methodResponse> must hold exactly one <params> or <fault>');
        this.result = f.first === 'fault' ? { kind: 'fault', value: f.value } : { kind: 'response', params: f.value as unknown[] };
        return undefined;
      default:
        throw this.invalid(f.pos, `unexpected <${f.tag}>`);
    }
  }

  private bad(f: Frame): never {
    throw this.invalid(f.pos, `bad <${f.tag}> value ${JSON.stringify(f.text.trim().slice(0, 50))}`);
  }

  private invalid(pos: number, message: string): SkitaiError {
    return new SkitaiError('SKT_RPC_INVALID', `invalid XML-RPC at ${this.scanner.locate(pos)}: ${message}`);
  }
}

/** The tag name without a namespace prefix: Apache XML-RPC sends `<ex:i8>`, `<ex:nil/>`. */
function localName(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

function decodeInt(raw: string): number | bigint | undefined {
  const t = raw.trim();
  // The length cap keeps BigInt parsing cheap; 40 digits is far past any 64-bit value.
  if (!/^[+-]?\d{1,40}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

function decodeDouble(raw: string): number | undefined {
  const t = raw.trim();
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(t)) return Number(t);
  // Python's encoder writes repr(float): "inf", "-inf", "nan".
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(t);
  if (!special) return undefined;
  return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
}

function decodeBoolean(raw: string): boolean | undefined {
  const t = raw.trim().toLowerCase();
  return t === '1' || t === 'true' ? true : t === '0' || t === 'false' ? false : undefined;
}

const DATE = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Accepts `19980717T14:08:55` and ISO forms with dashes, fraction and zone; a time without a zone is UTC. */
function decodeDate(raw: string): Date | undefined {
  const m = DATE.exec(raw.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const daysInMonth = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  let offset = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = Number(digits.slice(2) || '0');
    if (zh > 23 || zm > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // Date.UTC would map years 0..99 to 1900..1999
  date.setUTCHours(hour, minute - offset, second, ms);
  return date;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function decodeBase64(raw: string): Buffer | undefined {
  const t = raw.replace(/[ \t\n\r]+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1 || (t.includes('=') && t.length % 4 !== 0)) return undefined;
  return Buffer.from(t, 'base64');
}
