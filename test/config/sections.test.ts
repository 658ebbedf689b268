import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { failure } from './helpers.js';

test('an unknown section is an error naming file and line, with the nearest known section', () => {
  const cases: [string, number, RegExp][] = [
    ['[serverr]\nport = 1\n', 1, /unknown section \[serverr\]; did you mean \[server\]\?/],
    ['[server]\nport = 1\n\n[smtpd]\nsmtpserver = 127.0.0.1:25\n', 4, /unknown section \[smtpd\]; did you mean \[smtpda\]\?/],
    ['[route:line]\n/ = @x\n', 1, /unknown section \[route:line\]; did you mean \[routes:line\]\?/],
    ['[Server]\nport = 1\n', 1, /did you mean \[server\]\? \(section names are lower-case\)/],
    ['[backend]\nmembers = 127.0.0.1:5001\n', 1, /did you mean \[@backend\]\? \(a cluster section starts with "@"\)/],
    ['[crontab:line]\n* * * * * job\n', 1, /unknown section \[crontab:line\] \(docs\/config\.md/],
    ['[motd:data]\nhello\n', 1, /unknown section \[motd:data\] \(/],
  ];
  for (const [text, line, pattern] of cases) {
    const err = failure('SKT_CONFIG_UNKNOWN_SECTION', () => parseConfigText(text, 'site.conf'));
    assert.match(err.message, new RegExp(`^site\\.conf:line ${line} `), err.message);
    assert.match(err.message, pattern);
    assert.equal(err.place?.line, line);
  }
});

test('a known section in the wrong form is a syntax error saying how to write it', () => {
  const err = failure('SKT_CONFIG_SYNTAX', () => parseConfigText('[users:line]\nbob = secret1 admin\n', 'site.conf'));
  assert.match(err.message, /site\.conf:line 1 .*write \[users\], not \[users:line\]/);
  assert.ok(!err.message.includes('secret1'));
});
