import { SkitaiError } from '../errors.js';

/**
 * A small XML parser made for XML-RPC, safe by construction: no DTD is ever read (a `<!DOCTYPE`
 * or `<!ENTITY` is an error, so billion-laughs and external entities cannot happen), only the five
 * predefined entities and character references are decoded, nesting depth and input size are
 * bounded, and the parse is a loop with an explicit stack (deep input cannot overflow the JS stack).
 * Attributes, comments and processing instructions are checked for well-formedness and dropped.
 */

/** An element of a parsed document. Attributes are dropped: XML-RPC has none that matter. */
export interface XmlElement {
  /** The tag name as written, prefix included (`ex:nil`). */
  readonly name: string;
  /** Text (entities decoded, CDATA merged in) and child elements, in document order. */
  readonly children: XmlNode[];
  /** Offset of the element's `<` in the decoded text; {@link XmlDocument.locate} turns it into a line. */
  readonly pos: number;
}

export type XmlNode = XmlElement | string;

export interface XmlDocument {
  readonly root: XmlElement;
  /** `line L, column C` of an offset, for error messages about the document's content. */
  locate(pos: number): string;
}

export interface XmlLimits {
  /** Deepest element nesting accepted (the root is depth 1). */
  maxDepth?: number;
  /** Largest input accepted, in bytes of UTF-8. */
  maxBytes?: number;
}

export const XML_DEFAULT_MAX_DEPTH = 64;
export const XML_DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** Characters XML 1.0 allows (production [2] `Char`); anything else is an error on input. */
export const INVALID_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9_:.\u00B7\u00C0-\uFFFF]*/y;
const XML_DECL = /<\?xml\s+version\s*=\s*(["'])1\.\d+\1(?:\s+encoding\s*=\s*(["'])[A-Za-z][-A-Za-z0-9._]*\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\3)?\s*\?>/y;
const PREDEFINED = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['apos', "'"], ['quot', '"']]);

/** Receives a document as it is read; text may arrive in several consecutive pieces. */
export interface XmlHandler {
  open(name: string, pos: number): void;
  close(name: string, pos: number): void;
  /** Text with entities decoded, CDATA included; only inside the root element. */
  text(text: string, pos: number): void;
}

/**
 * Reads a whole document and reports it to a handler, as a loop with an explicit stack. The
 * constructor decodes and checks the input: a Buffer as strict UTF-8 (or ISO-8859-1 when its
 * declaration says so), a string as already decoded. Throws SkitaiError `SKT_RPC_PARSE` for
 * anything not well-formed, `SKT_RPC_LIMIT` past `maxBytes` or `maxDepth`; a handler may throw too.
 */
export class XmlScanner {
  /** The decoded text, line ends normalized; positions given to a handler are offsets into it. */
  readonly text: string;
  private readonly maxDepth: number;

  constructor(input: Buffer | Uint8Array | string, limits: XmlLimits = {}) {
    let text = decode(input, limits.maxBytes ?? XML_DEFAULT_MAX_BYTES);
    const bad = INVALID_XML_CHAR.exec(text);
    if (bad) throw parseError(text, bad.index, `character U+${hex(bad[0].codePointAt(0) ?? 0)} is not allowed in XML 1.0`);
    // XML 2.11: every CR LF and lone CR reads as LF; `&#13;` survives because references decode later.
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    this.text = text;
    this.maxDepth = limits.maxDepth ?? XML_DEFAULT_MAX_DEPTH;
  }

  /** `line L, column C` of an offset, for error messages. */
  locate(pos: number): string {
    return locate(this.text, pos);
  }

  scan(handler: XmlHandler): void {
    new Scan(this.text, this.maxDepth, handler).run();
  }
}

/** Parses a whole document into a tree (for callers that want one; XML-RPC decodes from events). */
export function parseXml(input: Buffer | Uint8Array | string, limits: XmlLimits = {}): XmlDocument {
  const scanner = new XmlScanner(input, limits);
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  scanner.scan({
    open(name, pos) {
      const el: XmlElement = { name, children: [], pos };
      stack[stack.length - 1]?.children.push(el);
      stack.push(el);
    },
    close() {
      root = stack.pop();
    },
    text(text) {
      const children = stack[stack.length - 1]!.children;
      const last = children.length - 1;
      if (last >= 0 && typeof children[last] === 'string') children[last] += text;
      else children.push(text);
    },
  });
  return { root: root!, locate: (pos) => scanner.locate(pos) };
}

function decode(input: Buffer | Uint8Array | string, maxBytes: number): string {
  if (typeof input === 'string') {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so the cheap test goes first.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) throw tooLarge(maxBytes);
    return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  }
  if (input.byteLength > maxBytes) throw tooLarge(maxBytes);
  const encoding = declaredEncoding(input);
  if (encoding === 'latin1') return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  if (encoding !== 'utf8') {
    throw new SkitaiError('SKT_RPC_PARSE', `malformed XML: unsupported encoding "${encoding}" (only UTF-8, US-ASCII and ISO-8859-1 are accepted)`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input); // also drops a BOM
  } catch {
    throw new SkitaiError('SKT_RPC_PARSE', `malformed XML: the document is not valid UTF-8 (first bad byte at offset ${firstBadUtf8(input)})`);
  }
}

/** Reads `encoding="…"` from the declaration; every encoding we accept is ASCII-compatible there. */
function declaredEncoding(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 256)).toString('latin1');
  const m = /^(?:\xEF\xBB\xBF)?<\?xml\s[^?]*?\bencoding\s*=\s*(["'])([^"']*)\1/.exec(head);
  const name = (m?.[2] ?? 'utf-8').toLowerCase();
  if (name === 'utf-8' || name === 'utf8' || name === 'us-ascii' || name === 'ascii') return 'utf8';
  if (name === 'iso-8859-1' || name === 'latin1' || name === 'latin-1' || name === 'iso8859-1') return 'latin1';
  return name;
}

/** Offset of the first byte that breaks UTF-8, only computed for the error message. */
function firstBadUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
    }
    if (n > 0) {
      const cp = n === 1 ? 0 : n === 2 ? ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) : ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12);
      if (n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return i;
      if (n === 3 && (cp < 0x10000 || cp > 0x10ffff)) return i;
    }
    i += n + 1;
  }
  return b.length;
}

class Scan {
  private pos = 0;
  // Open elements as two parallel arrays: no object per element.
  private readonly names: string[] = [];
  private readonly starts: number[] = [];
  private rootDone = false;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
    private readonly handler: XmlHandler,
  ) {}

  run(): void {
    const s = this.s;
    if (s.startsWith('<?xml') && /[\s?]/.test(s.charAt(5))) {
      XML_DECL.lastIndex = 0;
      if (!XML_DECL.test(s)) this.fail(0, 'malformed XML declaration');
      this.pos = XML_DECL.lastIndex;
    }
    while (this.pos < s.length) {
      const lt = s.indexOf('<', this.pos);
      const end = lt === -1 ? s.length : lt;
      if (end > this.pos) this.text(this.pos, end);
      if (lt === -1) break;
      const next = s.charAt(lt + 1);
      if (next === '/') this.closeTag(lt);
      else if (next === '!') this.bang(lt);
      else if (next === '?') this.instruction(lt);
      else this.openTag(lt);
    }
    const depth = this.names.length;
    if (depth > 0) {
      this.fail(s.length, `unexpected end of document: <${this.names[depth - 1]}> opened at ${locate(s, this.starts[depth - 1]!)} is not closed`);
    }
    if (!this.rootDone) this.fail(s.length, 'no root element');
  }

  private text(start: number, end: number): void {
    const raw = this.s.slice(start, end);
    if (this.names.length === 0) {
      const at = raw.search(/[^ \t\n]/);
      if (at !== -1) this.fail(start + at, this.rootDone ? 'text after the root element' : 'text before the root element');
      return;
    }
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd !== -1) this.fail(start + cdataEnd, '"]]>" is not allowed in text');
    this.handler.text(raw.includes('&') ? this.entities(raw, start) : raw, start);
  }

  private entities(raw: string, base: number): string {
    let out = '';
    let i = 0;
    for (let amp = raw.indexOf('&'); amp !== -1; amp = raw.indexOf('&', i)) {
      out += raw.slice(i, amp);
      const semi = raw.indexOf(';', amp);
      if (semi === -1 || semi - amp > 40) this.fail(base + amp, 'a bare "&" (write it as &amp;)');
      const ref = raw.slice(amp + 1, semi);
      const predefined = PREDEFINED.get(ref);
      if (predefined !== undefined) out += predefined;
      else if (/^#[0-9]+$/.test(ref) || /^#x[0-9a-fA-F]+$/.test(ref)) {
        const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        const ch = cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
        if (ch === '' || INVALID_XML_CHAR.test(ch)) this.fail(base + amp, `character reference "&${ref};" is not a valid XML character`);
        out += ch;
      } else {
        this.fail(base + amp, `entity "&${ref};" is not allowed (only &lt; &gt; &amp; &apos; &quot; and character references; entities are never expanded)`);
      }
      i = semi + 1;
    }
    return out + raw.slice(i);
  }

  private bang(lt: number): void {
    const s = this.s;
    if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4);
      if (end === -1) this.fail(lt, 'unterminated comment');
      const dashes = s.indexOf('--', lt + 4);
      if (dashes < end) this.fail(dashes, '"--" is not allowed inside a comment');
      this.pos = end + 3;
    } else if (s.startsWith('<![CDATA[', lt)) {
      if (this.names.length === 0) this.fail(lt, 'CDATA section outside the root element');
      const end = s.indexOf(']]>', lt + 9);
      if (end === -1) this.fail(lt, 'unterminated CDATA section');
      this.handler.text(s.slice(lt + 9, end), lt);
      this.pos = end + 3;
    } else if (s.startsWith('<!DOCTYPE', lt)) {
      this.fail(lt, 'DOCTYPE is not allowed (no DTD is read, so no entity can be defined or expanded)');
    } else if (s.startsWith('<!ENTITY', lt)) {
      this.fail(lt, 'ENTITY declarations are not allowed');
    } else {
      this.fail(lt, 'unexpected "<!" (only comments and CDATA sections are allowed)');
    }
  }

  private instruction(lt: number): void {
    const end = this.s.indexOf('?>', lt + 2);
    if (end === -1) this.fail(lt, 'unterminated processing instruction');
    const target = this.name(lt + 2, 'processing instruction target');
    if (target.toLowerCase() === 'xml') this.fail(lt, 'the XML declaration is only allowed at the very start of the document');
    this.pos = end + 2;
  }

  private openTag(lt: number): void {
    const s = this.s;
    const name = this.name(lt + 1, 'tag name');
    let p = lt + 1 + name.length;
    let selfClosing = false;
    for (;;) {
      const ws = p;
      while (isSpace(s.charCodeAt(p))) p++;
      if (p >= s.length) this.fail(lt, `unexpected end of document inside <${name}>`);
      if (s[p] === '>') { p += 1; break; }
      if (s.startsWith('/>', p)) { p += 2; selfClosing = true; break; }
      if (p === ws) this.fail(p, `expected whitespace, ">" or "/>" in <${name}>`);
      p = this.attribute(p, name);
    }
    if (this.names.length === 0 && this.rootDone) this.fail(lt, `a second root element <${name}>`);
    if (this.names.length >= this.maxDepth) {
      throw new SkitaiError('SKT_RPC_LIMIT', `XML nesting deeper than ${this.maxDepth} levels at ${locate(s, lt)}`);
    }
    this.pos = p;
    this.handler.open(name, lt);
    if (selfClosing) {
      if (this.names.length === 0) this.rootDone = true;
      this.handler.close(name, lt);
    } else {
      this.names.push(name);
      this.starts.push(lt);
    }
  }

  /** Checks one `name="value"` and returns the offset after it; the value itself is dropped. */
  private attribute(p: number, tag: string): number {
    const s = this.s;
    const name = this.name(p, `attribute name in <${tag}>`);
    p += name.length;
    while (isSpace(s.charCodeAt(p))) p++;
    if (s[p] !== '=') this.fail(p, `expected "=" after attribute ${name}`);
    p++;
    while (isSpace(s.charCodeAt(p))) p++;
    const quote = s[p];
    if (quote !== '"' && quote !== "'") this.fail(p, `attribute ${name} must be quoted`);
    const end = s.indexOf(quote, p + 1);
    if (end === -1) this.fail(p, `unterminated value of attribute ${name}`);
    const value = s.slice(p + 1, end);
    const lt = value.indexOf('<');
    if (lt !== -1) this.fail(p + 1 + lt, `"<" is not allowed in the value of attribute ${name}`);
    if (value.includes('&')) this.entities(value, p + 1);
    return end + 1;
  }

  private closeTag(lt: number): void {
    const s = this.s;
    const name = this.name(lt + 2, 'closing tag name');
    let p = lt + 2 + name.length;
    while (isSpace(s.charCodeAt(p))) p++;
    if (s[p] !== '>') this.fail(p, p >= s.length ? `unexpected end of document inside </${name}>` : `expected ">" to end </${name}>`);
    const open = this.names.pop();
    const start = this.starts.pop();
    if (open === undefined || start === undefined) this.fail(lt, `closing tag </${name}> without an open element`);
    if (open !== name) this.fail(lt, `closing tag </${name}> does not match <${open}> opened at ${locate(s, start)}`);
    if (this.names.length === 0) this.rootDone = true;
    this.pos = p + 1;
    this.handler.close(name, lt);
  }

  private name(p: number, what: string): string {
    NAME.lastIndex = p;
    const m = NAME.exec(this.s);
    if (!m) this.fail(p, p >= this.s.length ? `unexpected end of document, expected a ${what}` : `invalid ${what}`);
    return m[0];
  }

  private fail(pos: number, message: string): never {
    throw parseError(this.s, pos, message);
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function locate(s: string, pos: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = s.indexOf('\n'); i !== -1 && i < pos; i = s.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${pos - lineStart + 1}`;
}

function parseError(s: string, pos: number, message: string): SkitaiError {
  return new SkitaiError('SKT_RPC_PARSE', `malformed XML at ${locate(s, pos)}: ${message}`);
}

function tooLarge(maxBytes: number): SkitaiError {
  return new SkitaiError('SKT_RPC_LIMIT', `XML document larger than ${maxBytes} bytes`);
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, '0');
}
