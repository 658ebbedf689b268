import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, loadConfigSync, parseConfigText } from '../../src/config/load.js';
import { assertPlace, failure, failureAsync, siteDir } from './helpers.js';

// The seed README's "Basic Configure", verbatim but for where the app lives.
const BASIC_CONFIGURE = `[server]
processes = 1
threads = 4
port = 5000

[routes:line]
/ = /home/skitaid/app/static
/ = /home/skitaid/app/webapp
`;

describe('the README "Basic Configure"', () => {
  test('loads: server keys, a static dir and a module without extension on the same prefix', async () => {
    const dir = siteDir({ 'app/static/index.html': 'hi', 'app/webapp.ts': 'export const app = 1;' });
    const file = path.join(dir, 'default.conf');
    fs.writeFileSync(file, BASIC_CONFIGURE.replaceAll('/home/skitaid/app', path.join(dir, 'app')));
    const c = await loadConfig(file);
    assert.equal(c.file, file);
    assert.equal(c.dir, dir);
    assert.equal(c.server.name, 'default');
    assert.equal(c.server.processes, 1);
    assert.equal(c.server.threads, 4);
    assert.equal(c.server.port, 5000);
    assert.deepEqual(c.routes, [
      { prefix: '', kind: 'static', target: path.join(dir, 'app/static'), line: 7 },
      { prefix: '', kind: 'app', target: path.join(dir, 'app/webapp.ts'), line: 8 },
    ]);
    assert.deepEqual(loadConfigSync(file), c);
  });

  test('the module may be compiled JavaScript', () => {
    const dir = siteDir({ 'app/static/': '', 'app/webapp.js': '' });
    const c = parseConfigText(BASIC_CONFIGURE.replaceAll('/home/skitaid/app', path.join(dir, 'app')), 'x.conf', dir);
    assert.equal(c.routes[1]!.target, path.join(dir, 'app/webapp.js'));
  });
});

describe('reading files', () => {
  test('a missing file is SKT_CONFIG_READ naming it', async () => {
    const file = path.join(siteDir(), 'nope.conf');
    const err = await failureAsync('SKT_CONFIG_READ', () => loadConfig(file));
    assert.ok(err.message.includes(file));
    assert.match(err.message, /no such file/);
    assert.match(failure('SKT_CONFIG_READ', () => loadConfigSync(file)).message, /nope\.conf/);
  });

  test('relative paths resolve against the config file, not the working directory', async () => {
    const dir = siteDir({ 'conf/site.conf': '[server]\nlog_path = ../logs\n[routes:line]\n/s = ../static\n', 'static/': '' });
    const c = await loadConfig(path.join(dir, 'conf/site.conf'));
    assert.equal(c.server.logPath, path.join(dir, 'logs'));
    assert.equal(c.routes[0]!.target, path.join(dir, 'static'));
  });

  test('syntax errors from a file name that file', async () => {
    const dir = siteDir({ 'bad.conf': '[server]\nport 5000\n' });
    const err = await failureAsync('SKT_CONFIG_SYNTAX', () => loadConfig(path.join(dir, 'bad.conf')));
    assert.ok(err.message.includes(path.join(dir, 'bad.conf')));
    assert.match(err.message, /line 2/);
  });
});

describe('[routes:line]', () => {
  const dir = siteDir({ 'static/': '', 'api.ts': '', 'api.js': '', 'tool.mjs': '', 'exact.js': '', 'notes.txt': '', 'pkg/': '' });
  const routes = (lines: string, clusters = '') => parseConfigText(`[routes:line]\n${lines}\n${clusters}`, 'site.conf', dir).routes;

  test('duplicates are kept in file order with their lines; prefixes lose trailing slashes', () => {
    assert.deepEqual(
      routes('/ = static\n/ = api\n/docs/ = static ; docs\n/x = api'),
      [
        { prefix: '', kind: 'static', target: path.join(dir, 'static'), line: 2 },
        { prefix: '', kind: 'app', target: path.join(dir, 'api.ts'), line: 3 },
        { prefix: '/docs', kind: 'static', target: path.join(dir, 'static'), line: 4 },
        { prefix: '/x', kind: 'app', target: path.join(dir, 'api.ts'), line: 5 },
      ],
    );
  });

  test('module resolution: as given, then .ts, .js, .mjs; absolute paths allowed', () => {
    assert.equal(routes('/ = exact.js')[0]!.target, path.join(dir, 'exact.js'));
    assert.equal(routes('/ = tool')[0]!.target, path.join(dir, 'tool.mjs'));
    assert.equal(routes(`/ = ${path.join(dir, 'api')}`)[0]!.target, path.join(dir, 'api.ts'));
  });

  test('a directory is always static (no index lookup)', () => {
    assert.equal(routes('/ = pkg')[0]!.kind, 'static');
  });

  test('@name routes to an existing cluster', () => {
    assert.deepEqual(routes('/api = @backend', '[@backend]\nmembers = 127.0.0.1:5001'), [
      { prefix: '/api', kind: 'cluster', target: 'backend', line: 2 },
    ]);
  });

  const bad: [string, string, string, RegExp][] = [
    ['unknown cluster', '/ = static\n/api = @nobody', '/api', /unknown cluster "@nobody"/],
    ['missing target', '/ = static\n/x = ./missing/webapp', '/x', /not found: .*missing\/webapp/],
    ['not a module', '/ = static\n/n = notes.txt', '/n', /neither a directory nor a module/],
    ['prefix without /', '/ = static\napi = api', 'api', /must start with "\/"/],
    ['no "="', '/ = static\n/api', '/api', /<prefix> = <target>/],
    ['empty target', '/ = static\n/api =', '/api', /missing target/],
    ['space in prefix', '/ = static\n/a b = api', '/a b', /spaces/],
  ];
  for (const [name, lines, key, pattern] of bad) {
    test(`${name} is SKT_CONFIG_ROUTE with file, line and prefix`, () => {
      const err = failure('SKT_CONFIG_ROUTE', () => routes(lines));
      assertPlace(err, 3, key);
      assert.match(err.message, /site\.conf/);
      assert.match(err.message, pattern);
    });
  }

  test('a missing target names the resolved path', () => {
    const err = failure('SKT_CONFIG_ROUTE', () => routes('/ = ./gone'));
    assert.ok(err.message.includes(path.join(dir, 'gone')), err.message);
  });

  test('[routes] written as a key/value section is a syntax error', () => {
    const err = failure('SKT_CONFIG_SYNTAX', () => parseConfigText('[server]\n[routes]\n/ = static\n', 'site.conf', dir));
    assert.match(err.message, /site\.conf:line 2 .*write \[routes:line\]/);
  });
});

describe('clusters and other sections', () => {
  const text = [
    '[@backend]',
    'members = 127.0.0.1:5001,',
    '   127.0.0.1:5002 2',
    'SSL = yes',
    '[smtpda]',
    'smtpserver = 127.0.0.1:25',
    'max_retry = 10',
    '',
  ].join('\n');

  test('[@name] keeps values, key lines and its file; known sections are kept for their owners', () => {
    const c = parseConfigText(text, 'site.conf');
    assert.deepEqual(c.clusters, {
      backend: {
        name: 'backend',
        file: 'site.conf',
        line: 1,
        values: { members: '127.0.0.1:5001,\n127.0.0.1:5002 2', ssl: 'yes' },
        keyLines: { members: 2, ssl: 4 },
        dir: process.cwd(),
        written: {},
      },
    });
    assert.deepEqual(c.sections, { smtpda: { smtpserver: '127.0.0.1:25', max_retry: '10' } });
    assert.deepEqual(c.lineSections, {});
    assert.deepEqual(c.dataSections, {});
    assert.deepEqual(c.keyLines.smtpda, { smtpserver: 6, max_retry: 7 });
  });

  test('a cluster without members names its section and line', () => {
    const err = failure('SKT_CONFIG_VALUE', () => parseConfigText('[server]\n[@db]\ntype = postgresql\n', 'site.conf'));
    assert.match(err.message, /line 2/);
    assert.match(err.message, /\[@db\]/);
    assert.match(err.message, /members/);
  });

  test('empty members name the members line without echoing anything', () => {
    assertPlace(failure('SKT_CONFIG_VALUE', () => parseConfigText('[@db]\ntype = x\nmembers = ,\n')), 3, 'members');
  });

  test('[server:line] is a syntax error', () => {
    failure('SKT_CONFIG_SYNTAX', () => parseConfigText('[server:line]\nport = 1\n'));
  });
});

test('the whole config is deeply frozen', () => {
  const c = parseConfigText('[server]\ntrusted_proxies = ::1\n[@b]\nmembers = a:1\n[users]\nk = password\n');
  for (const o of [c, c.server, c.server.trustedProxies, c.routes, c.clusters, c.clusters.b!, c.clusters.b!.values, c.sections.users!, c.lineSections, c.keyLines.server!]) {
    assert.ok(Object.isFrozen(o));
  }
  assert.throws(() => {
    (c.server as { port: number }).port = 1;
  }, TypeError);
});
