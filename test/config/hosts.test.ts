// `@ host…` lines of [routes:line] (config/hostline.ts) and the host map the engine looks them up in.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { HostMap, hostName } from '../../src/http/hosts.js';
import { assertPlace, failure, siteDir } from './helpers.js';

const dir = siteDir({ 'a/': '', 'b/': '', 'cert.pem': 'not read by the config layer', 'key.pem': '' });
const conf = (lines: string, server = ''): ReturnType<typeof parseConfigText> =>
  parseConfigText(`[server]\n${server}\n[routes:line]\n${lines}\n`, 'site.conf', dir);

describe('@ lines', () => {
  test('lines before any @ and after @ default are the default group; the others carry their group', () => {
    const c = conf('/ = a\n@ Example.com *.example.org certfile=cert.pem keyfile=key.pem\n/ = b\n@ default\n/x = b', 'ssl = yes\ncertfile = cert.pem');
    assert.equal(c.defaultGroup, true);
    assert.deepEqual(c.hostGroups, [
      { names: ['example.com', '*.example.org'], certfile: path.join(dir, 'cert.pem'), keyfile: path.join(dir, 'key.pem'), line: 6 },
    ]);
    assert.deepEqual(c.routes.map((r) => [r.prefix, r.group?.names ?? 'default']), [['', 'default'], ['', ['example.com', '*.example.org']], ['/x', 'default']]);
  });

  test('without lines before the first @ nor @ default there is no default group', () => {
    assert.equal(conf('@ a.test\n/ = a').defaultGroup, false);
    assert.equal(conf('/ = a').defaultGroup, true);
    assert.equal(conf('').defaultGroup, true);
  });

  const bad: [string, string, RegExp][] = [
    ['a name in two groups', '@ a.test\n@ b.test A.test', /host a\.test is already in the "@" group on line 5/],
    ['.domain after *.domain', '@ *.a.test\n@ .a.test', /already in the "@" group on line 5/],
    ['a bad name', '@ a.test\n@ exa mple!.com', /"mple!\.com" is not a host name/],
    ['a port', '@ a.test\n@ a.test:80', /is not a host name/],
    ['default with names', '@ a.test\n@ default b.test', /takes no host names/],
    ['a certificate on default', '@ a.test\n@ default certfile=cert.pem', /\[server\] certfile/],
    ['an unknown option', '@ a.test\n@ b.test cert=cert.pem', /unknown option "cert"/],
    ['keyfile alone', '@ a.test\n@ b.test keyfile=key.pem', /keyfile needs certfile/],
    ['a missing certfile', '@ a.test\n@ b.test certfile=gone.pem', /certfile not found: .*gone\.pem/],
    ['no names', '@ a.test\n@', /expected "@ <host>/],
  ];
  for (const [name, lines, pattern] of bad) {
    test(`${name} is SKT_CONFIG_ROUTE at its line`, () => {
      const err = failure('SKT_CONFIG_ROUTE', () => conf(lines, 'ssl = yes\ncertfile = cert.pem'));
      assertPlace(err, 6, '@');
      assert.match(err.message, pattern);
    });
  }

  test('a group certificate needs ssl = yes', () => {
    const err = failure('SKT_CONFIG_VALUE', () => conf('@ a.test certfile=cert.pem'));
    assert.match(err.message, /site\.conf:line 4 .*needs ssl = yes/);
  });
});

describe('HostMap', () => {
  const map = new HostMap<string>();
  for (const [name, value] of [['example.com', 'exact'], ['.example.com', 'dot'], ['*.deep.example.com', 'deep'], ['[::1]', 'v6'], ['127.0.0.1', 'v4']] as const) {
    map.add(name, value);
  }

  test('an exact name wins, then the longest suffix; ports, case and a trailing dot do not matter', () => {
    assert.equal(map.find('example.com'), 'exact');
    assert.equal(map.find('EXAMPLE.com:443'), 'exact');
    assert.equal(map.find('www.example.com.'), 'dot');
    assert.equal(map.find('a.deep.example.com'), 'deep');
    assert.equal(map.find('deep.example.com'), 'dot');
    assert.equal(map.find('[::1]:8080'), 'v6');
    assert.equal(map.find('127.0.0.1:5000'), 'v4');
    assert.equal(map.find('notexample.com'), undefined);
    assert.equal(map.find('com'), undefined);
    assert.equal(map.find(''), undefined);
  });

  test('hostName() strips the port and the trailing dot', () => {
    assert.equal(hostName('A.B:1'), 'a.b');
    assert.equal(hostName('[FE80::1]:80'), '[fe80::1]');
    assert.equal(hostName('x.'), 'x');
  });
});
