import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSkitaiError, type ErrorCode } from '../../src/errors.js';
import { parseXml, type XmlElement, type XmlNode } from '../../src/rpc/xml.js';

function throwsCode(fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSkitaiError(err, code), `expected ${code}, got ${String(err)}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** A compact view of a tree for deepEqual: [name, ...children]. */
type Shape = [string, ...(Shape | string)[]];
function shape(el: XmlElement): Shape {
  return [el.name, ...el.children.map((c: XmlNode) => (typeof c === 'string' ? c : shape(c)))];
}

test('parses declaration, comments, PIs, CDATA, self-closing tags and ignores attributes', () => {
  const doc = parseXml(
    `<?xml version='1.0' encoding="utf-8" standalone="yes"?>\n<!-- head -->\n<?app hint?>\n` +
      `<a x="1" y='two &amp; more'>t<b/><c z = "3" >x<![CDATA[<not&a;tag>]]>y</c><!-- in --><d></d ></a>\n<!-- tail -->\n`,
  );
  assert.deepEqual(shape(doc.root), ['a', 't', ['b'], ['c', 'x<not&a;tag>y'], ['d']]);
});

test('decodes the five entities and numeric character references', () => {
  const doc = parseXml('<a>&lt;&gt;&amp;&apos;&quot; &#65;&#x42;&#x1F600; &#13;</a>');
  assert.deepEqual(doc.root.children, [`<>&'" AB\u{1F600} \r`]);
});

test('normalizes CR LF and lone CR to LF, drops a BOM, decodes UTF-8 Buffers', () => {
  assert.deepEqual(parseXml('\uFEFF<a>1\r\n2\r3</a>').root.children, ['1\n2\n3']);
  assert.deepEqual(parseXml(Buffer.from('\uFEFF<a>héllo ✓ 😀</a>', 'utf8')).root.children, ['héllo ✓ 😀']);
});

test('decodes an ISO-8859-1 Buffer when the declaration says so, refuses unknown encodings', () => {
  const latin1 = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>'), Buffer.from([0xe9]), Buffer.from('</a>')]);
  assert.deepEqual(parseXml(latin1).root.children, ['é']);
  throwsCode(() => parseXml(Buffer.from('<?xml version="1.0" encoding="Shift_JIS"?><a/>')), 'SKT_RPC_PARSE', /unsupported encoding "shift_jis"/);
});

test('rejects billion laughs without expanding anything', () => {
  const lol =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n' +
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n<lolz>&lol3;</lolz>';
  throwsCode(() => parseXml(lol), 'SKT_RPC_PARSE', /line 2, column 1: DOCTYPE is not allowed/);
});

test('rejects external entities and any DTD or entity declaration', () => {
  throwsCode(() => parseXml('<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>'), 'SKT_RPC_PARSE', /DOCTYPE/);
  throwsCode(() => parseXml('<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>'), 'SKT_RPC_PARSE', /DOCTYPE/);
  throwsCode(() => parseXml('<a><!ENTITY x "y"></a>'), 'SKT_RPC_PARSE', /ENTITY declarations are not allowed/);
  throwsCode(() => parseXml('<a>&xxe;</a>'), 'SKT_RPC_PARSE', /entity "&xxe;" is not allowed/);
  throwsCode(() => parseXml('<a b="&xxe;"/>'), 'SKT_RPC_PARSE', /entity "&xxe;"/);
  throwsCode(() => parseXml('<a><!ELEMENT a ANY></a>'), 'SKT_RPC_PARSE', /unexpected "<!"/);
});

test('rejects invalid character references and bare ampersands', () => {
  for (const ref of ['&#0;', '&#x0;', '&#1;', '&#xD800;', '&#xFFFE;', '&#x110000;', '&#99999999999;']) {
    throwsCode(() => parseXml(`<a>${ref}</a>`), 'SKT_RPC_PARSE', /not a valid XML character/);
  }
  throwsCode(() => parseXml('<a>fish & chips</a>'), 'SKT_RPC_PARSE', /bare "&"/);
  throwsCode(() => parseXml('<a>&#x;</a>'), 'SKT_RPC_PARSE', /entity "&#x;"/);
});

test('rejects 10,000-deep nesting with a limit error, not a stack overflow', () => {
  const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
  throwsCode(() => parseXml(deep), 'SKT_RPC_LIMIT', /deeper than 64 levels at line 1, column 193/);
  throwsCode(() => parseXml(Buffer.from(deep)), 'SKT_RPC_LIMIT');
  // The parser is iterative: with the limit lifted it still parses without recursion.
  assert.equal(parseXml(deep, { maxDepth: 20_000 }).root.name, 'a');
  throwsCode(() => parseXml('<a><b><c/></b></a>', { maxDepth: 2 }), 'SKT_RPC_LIMIT');
  assert.equal(parseXml('<a><b><c/></b></a>', { maxDepth: 3 }).root.name, 'a');
});

test('rejects input over maxBytes, measured in UTF-8 bytes', () => {
  throwsCode(() => parseXml('<a>' + 'x'.repeat(100) + '</a>', { maxBytes: 100 }), 'SKT_RPC_LIMIT', /larger than 100 bytes/);
  throwsCode(() => parseXml('<a>' + 'é'.repeat(50) + '</a>', { maxBytes: 100 }), 'SKT_RPC_LIMIT');
  throwsCode(() => parseXml(Buffer.alloc(101, 0x20), { maxBytes: 100 }), 'SKT_RPC_LIMIT');
  assert.equal(parseXml('<a>' + 'x'.repeat(50) + '</a>', { maxBytes: 100 }).root.name, 'a');
});

test('rejects invalid UTF-8 and names the offset', () => {
  throwsCode(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e])), 'SKT_RPC_PARSE', /not valid UTF-8 \(first bad byte at offset 3\)/);
  throwsCode(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xc0, 0xaf, 0x3c, 0x2f, 0x61, 0x3e])), 'SKT_RPC_PARSE', /offset 3/); // overlong "/"
  throwsCode(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xed, 0xa0, 0x80, 0x3c, 0x2f, 0x61, 0x3e])), 'SKT_RPC_PARSE', /offset 3/); // UTF-8 surrogate
  throwsCode(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xe2, 0x82])), 'SKT_RPC_PARSE', /offset 3/); // truncated sequence
  throwsCode(() => parseXml(Buffer.from([0xff, 0xfe, 0x3c, 0x00])), 'SKT_RPC_PARSE', /offset 0/); // UTF-16
});

test('rejects characters XML 1.0 does not allow', () => {
  throwsCode(() => parseXml('<a>\u0001</a>'), 'SKT_RPC_PARSE', /U\+0001 is not allowed/);
  throwsCode(() => parseXml('<a>\uD800</a>'), 'SKT_RPC_PARSE', /U\+D800/);
  throwsCode(() => parseXml('<a>\uFFFF</a>'), 'SKT_RPC_PARSE', /U\+FFFF/);
});

test('rejects every truncation of a document', () => {
  const full = '<?xml version="1.0"?><methodCall><methodName>a</methodName><params><param><value><string>x &amp; y</string></value></param></params></methodCall>';
  assert.equal(parseXml(full).root.name, 'methodCall');
  for (let n = 0; n < full.length; n++) {
    assert.throws(() => parseXml(full.slice(0, n)), (err: unknown) => isSkitaiError(err, 'SKT_RPC_PARSE'), `prefix of ${n} chars was accepted`);
  }
});

test('rejects malformed structure with a line and column', () => {
  throwsCode(() => parseXml('<a>\n  <b></c>\n</a>'), 'SKT_RPC_PARSE', /line 2, column 6: closing tag <\/c> does not match <b> opened at line 2, column 3/);
  throwsCode(() => parseXml('<a/><b/>'), 'SKT_RPC_PARSE', /second root element <b>/);
  throwsCode(() => parseXml('<a/>text'), 'SKT_RPC_PARSE', /text after the root element/);
  throwsCode(() => parseXml('junk<a/>'), 'SKT_RPC_PARSE', /text before the root element/);
  throwsCode(() => parseXml(''), 'SKT_RPC_PARSE', /no root element/);
  throwsCode(() => parseXml('  <!-- only a comment -->  '), 'SKT_RPC_PARSE', /no root element/);
  throwsCode(() => parseXml('</a>'), 'SKT_RPC_PARSE', /without an open element/);
  throwsCode(() => parseXml('<a><1/></a>'), 'SKT_RPC_PARSE', /invalid tag name/);
  throwsCode(() => parseXml('<a b=1/>'), 'SKT_RPC_PARSE', /must be quoted/);
  throwsCode(() => parseXml('<a b="1"c="2"/>'), 'SKT_RPC_PARSE', /expected whitespace/);
  throwsCode(() => parseXml('<a b="<"/>'), 'SKT_RPC_PARSE', /"<" is not allowed/);
  throwsCode(() => parseXml('<a><!-- a -- b --></a>'), 'SKT_RPC_PARSE', /"--" is not allowed/);
  throwsCode(() => parseXml('<a>]]></a>'), 'SKT_RPC_PARSE', /"]]>" is not allowed/);
  throwsCode(() => parseXml('<![CDATA[x]]><a/>'), 'SKT_RPC_PARSE', /CDATA section outside/);
  throwsCode(() => parseXml(' <?xml version="1.0"?><a/>'), 'SKT_RPC_PARSE', /only allowed at the very start/);
  throwsCode(() => parseXml('<?xml version="2.0"?><a/>'), 'SKT_RPC_PARSE', /malformed XML declaration/);
});
