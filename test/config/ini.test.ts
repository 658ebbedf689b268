import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSkitaiError } from '../../src/errors.js';
import { parseIni, stripInlineComment, type IniSection } from '../../src/config/ini.js';

function keys(s: IniSection | undefined): Record<string, [string, number]> {
  assert.equal(s?.kind, 'keys');
  return Object.fromEntries([...s.entries.values()].map((e) => [e.key, [e.value, e.line]]));
}

/** Run `fn`, expect a SkitaiError with `code`, return its message. */
function failure(code: string, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isSkitaiError(err), `not a SkitaiError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err.message;
  }
  assert.fail(`expected ${code}`);
}

describe('parseIni: key/value sections', () => {
  test('both delimiters, lower-cased keys, line numbers, comments', () => {
    const doc = parseIni(['; top comment', '# another', '[server]', 'Port = 5000', '', 'NAME: site', '  ; indented comment', 'ip ='].join('\n'), 'a.conf');
    assert.deepEqual(keys(doc.sections.get('server')), { port: ['5000', 4], name: ['site', 6], ip: ['', 8] });
    assert.equal(doc.sections.get('server')!.line, 3);
  });

  test('the first of "=" and ":" splits key from value', () => {
    const doc = parseIni('[@c]\nmembers = 127.0.0.1:5001\nurl: http://x/?a=1\n');
    assert.deepEqual(keys(doc.sections.get('@c')), { members: ['127.0.0.1:5001', 2], url: ['http://x/?a=1', 3] });
  });

  test('inline comments need whitespace before ; or #', () => {
    const doc = parseIni('[s]\na = 1 ; one\nb = x;y\nc = page#top\nd = red # colour\ne = ; nothing\nf = #fff\n');
    assert.deepEqual(keys(doc.sections.get('s')), { a: ['1', 2], b: ['x;y', 3], c: ['page#top', 4], d: ['red', 5], e: ['', 6], f: ['', 7] });
  });

  test('indented lines continue the previous value, joined with newlines', () => {
    const doc = parseIni('[@c]\nmembers = a:1,\n    b:2 ; second\n\n    c:3\nssl = no\n');
    assert.deepEqual(keys(doc.sections.get('@c')), { members: ['a:1,\nb:2\nc:3', 2], ssl: ['no', 6] });
  });

  test('CRLF line endings and a BOM are accepted', () => {
    const doc = parseIni('\uFEFF[server]\r\nport = 1\r\n');
    assert.deepEqual(keys(doc.sections.get('server')), { port: ['1', 2] });
  });

  test('an indented header is a header, not a continuation', () => {
    const doc = parseIni('[server]\nport = 1\n  [routes:line]\n/ = x\n');
    assert.deepEqual(keys(doc.sections.get('server')), { port: ['1', 2] });
    assert.equal(doc.sections.get('routes')?.kind, 'lines');
  });

  test('section headers may carry an inline comment', () => {
    assert.ok(parseIni('[server]   ; main\nport = 1').sections.has('server'));
  });
});

describe('parseIni: :line and :data sections', () => {
  test(':line keeps duplicates in order with lines, drops comments', () => {
    const doc = parseIni('[routes:line]\n/ = ./static ; files\n# comment\n\n/ = ./webapp\n/api = @b\n');
    const s = doc.sections.get('routes');
    assert.equal(s?.kind, 'lines');
    assert.deepEqual(s.lines, [
      { text: '/ = ./static', line: 2 },
      { text: '/ = ./webapp', line: 5 },
      { text: '/api = @b', line: 6 },
    ]);
  });

  test(':data keeps raw text, comments included, up to the next header', () => {
    const doc = parseIni('[notes:data]\n  indented ; not a comment\n  [1, 2]\n# kept\n\n[server]\nport = 1\n');
    const s = doc.sections.get('notes');
    assert.equal(s?.kind, 'data');
    assert.equal(s.text, '  indented ; not a comment\n  [1, 2]\n# kept');
    assert.ok(doc.sections.has('server'));
  });
});

describe('parseIni: syntax errors name file and line', () => {
  const cases: [string, string, number, RegExp][] = [
    ['line outside a section', 'port = 1\n[server]\n', 1, /outside any section/],
    ['unclosed header', '[server]\nport = 1\n[routes:line\n', 3, /does not close/],
    ['key line without delimiter', '[server]\nport = 1\nthreads 4\n', 3, /key = value/],
    ['empty key', '[server]\n= 4\n', 2, /missing key/],
    ['duplicate key', '[server]\nport = 1\nPORT = 2\n', 3, /duplicate key "port" \(first set on line 2\)/],
    ['duplicate section', '[server]\nport = 1\n[server]\n', 3, /duplicate section \[server\] \(first on line 1\)/],
    ['continuation without key', '[server]\n   port = 1\n', 2, /continuation/],
    ['unknown section type', '[x:list]\n', 1, /unknown section type/],
    ['empty header', '[]\n', 1, /malformed section header/],
  ];
  for (const [name, text, line, pattern] of cases) {
    test(name, () => {
      const message = failure('SKT_CONFIG_SYNTAX', () => parseIni(text, '/etc/site.conf'));
      assert.match(message, /\/etc\/site\.conf/);
      assert.match(message, new RegExp(`line ${line}\\b`));
      assert.match(message, pattern);
    });
  }

  test('a duplicate key error names the key', () => {
    assert.match(failure('SKT_CONFIG_SYNTAX', () => parseIni('[server]\nport = 1\nport = 2\n')), /\[server\] port/);
  });

  test('a syntax error never quotes the line (it may hold a secret)', () => {
    const message = failure('SKT_CONFIG_SYNTAX', () => parseIni('[server]\npassphrase hunter2secret\n'));
    assert.doesNotMatch(message, /hunter2secret/);
  });
});

test('stripInlineComment', () => {
  assert.equal(stripInlineComment('  a b ; c # d'), 'a b');
  assert.equal(stripInlineComment('a;b#c'), 'a;b#c');
  assert.equal(stripInlineComment('a\t#c'), 'a');
});
