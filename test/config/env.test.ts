import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { failure, siteDir } from './helpers.js';

const SECRET = 'pa$$-w0rd-from-env';

describe('${ENV} in config values', () => {
  test('a variable, a default used when unset or empty, and a set variable winning over its default', () => {
    const env = { PORT: '8081', KEY: SECRET, EMPTY: '', THREADS: '2' };
    const c = parseConfigText(
      [
        '[server]',
        'port = ${PORT}',
        'name = site-${REGION:-eu}',
        'ip = ${EMPTY:-127.0.0.1}',
        'threads = ${THREADS:-8}',
        'securekey = ${KEY}',
        'admin_password = ${ADMIN:-}',
        '[smtpda]',
        'password = ${KEY} ; an inline comment is not part of the value',
      ].join('\n'),
      'site.conf',
      undefined,
      env,
    );
    assert.equal(c.server.port, 8081);
    assert.equal(c.server.name, 'site-eu');
    assert.equal(c.server.ip, '127.0.0.1');
    assert.equal(c.server.threads, 2);
    assert.equal(c.server.securekey, SECRET);
    assert.equal(c.server.adminPassword, undefined, 'an empty default means "not set"');
    assert.equal(c.sections.smtpda!.password, SECRET);
  });

  test('process.env is read by default, and :line sections are interpolated too', () => {
    const dir = siteDir({ 'static/': '' });
    process.env.SKITAI_TEST_STATIC = 'static';
    try {
      const c = parseConfigText('[routes:line]\n/ = ./${SKITAI_TEST_STATIC}\n', 'site.conf', dir);
      assert.equal(c.routes[0]!.kind, 'static');
    } finally {
      delete process.env.SKITAI_TEST_STATIC;
    }
  });

  test('a missing variable names the variable, file and line, never a value', () => {
    const err = failure('SKT_CONFIG_ENV', () =>
      parseConfigText('[server]\nport = 1\n[smtpda]\nuser = ${SMTP_USER}\npassword = ${SMTP_PASSWORD}\n', '/etc/site.conf', undefined, { SMTP_USER: SECRET }),
    );
    assert.match(err.message, /^\/etc\/site\.conf:line 5 \[smtpda\] password: environment variable SMTP_PASSWORD is not set/);
    assert.ok(!err.message.includes(SECRET), err.message);
    assert.deepEqual(err.place, { file: '/etc/site.conf', line: 5, section: 'smtpda', key: 'password' });
  });

  test('a bad value from the environment quotes the reference, not the value', () => {
    const err = failure('SKT_CONFIG_VALUE', () => parseConfigText('[server]\nport = ${PORT}\n', 'site.conf', undefined, { PORT: 'not-a-port-but-a-secret' }));
    assert.match(err.message, /line 2 \[server\] port: expected a whole number .*got "\$\{PORT\}", value not shown/);
    assert.ok(!err.message.includes('secret'), err.message);
  });

  test('$${ is a literal "${"; a lone $ is an ordinary character', () => {
    const c = parseConfigText('[smtpda]\nuser = $${HOME}\npassword = a$b$$c${X}$\n', 'site.conf', undefined, { X: 'x', HOME: '/root' });
    assert.equal(c.sections.smtpda!.user, '${HOME}');
    assert.equal(c.sections.smtpda!.password, 'a$b$$cx$');
  });

  test('continuation lines are interpolated one by one', () => {
    const c = parseConfigText('[server]\ntrusted_proxies = ${A},\n  ${B:-10.0.0.0/8}\n', 'site.conf', undefined, { A: '127.0.0.1' });
    assert.deepEqual(c.server.trustedProxies, ['127.0.0.1', '10.0.0.0/8']);
  });

  test('a malformed reference is a syntax error with its line', () => {
    for (const text of ['[server]\nname = ${NAME\n', '[server]\nname = ${}\n', '[server]\nname = ${1X}\n', '[server]\nname = ${A B}\n']) {
      const err = failure('SKT_CONFIG_SYNTAX', () => parseConfigText(text, 'site.conf', undefined, {}));
      assert.match(err.message, /site\.conf:line 2 \[server\] name: .*\$\{NAME\}/, err.message);
    }
  });
});
