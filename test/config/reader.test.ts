import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseClusterOptions } from '../../src/cluster/options.js';
import { parseConfigText } from '../../src/config/load.js';
import { configSecrets } from '../../src/config/secrets.js';
import { parseDbClusterOptions } from '../../src/db/options.js';
import { isSkitaiError } from '../../src/errors.js';
import { parseSmtpdaOptions } from '../../src/mail/options.js';
import { siteDir } from './helpers.js';

/**
 * Every key/value section is read by one reader: the same mistake must give the same answer in each.
 * Each case writes `line` as the second key of its section (line 3 of the file) and reads the section
 * the way Skitai does at start.
 */
interface Section {
  readonly name: string;
  /** A whole-number key of the section and its range in words. */
  readonly intKey: string;
  readonly range: string;
  readonly intDefault: number;
  read(text: string, env?: Record<string, string>, dir?: string): Record<string, unknown>;
}

const FILE = '/etc/skitai/site.conf';
const parse = (text: string, env: Record<string, string> = {}, dir = '/etc/skitai') => parseConfigText(text, FILE, dir, env);

const SECTIONS: Section[] = [
  {
    name: 'server', intKey: 'processes', range: 'from 1 to 1024', intDefault: 1,
    read: (line, env, dir) => ({ ...parse(`[server]\nport = 0\n${line}\n`, env, dir).server }),
  },
  {
    name: 'smtpda', intKey: 'max_retry', range: 'from 0 to 1000', intDefault: 10,
    read: (line, env, dir) => {
      const o = parseSmtpdaOptions(parse(`[smtpda]\nenabled = yes\n${line}\n`, env, dir))!;
      return { max_retry: o.maxRetry, tls: o.tls };
    },
  },
  {
    name: '@c', intKey: 'max_conns', range: 'from 1 to 100000', intDefault: 100,
    read: (line, env, dir) => {
      const o = parseClusterOptions(parse(`[@c]\nmembers = 127.0.0.1:1\n${line}\n`, env, dir).clusters.c!);
      return { max_conns: o.maxConns, ca_file: o.caFile };
    },
  },
  {
    name: '@db', intKey: 'max_conns', range: 'from 1 to 1000', intDefault: 10,
    read: (line, env, dir) => {
      const o = parseDbClusterOptions(parse(`[@db]\nmembers = 127.0.0.1/d/u/pw\n${line}\ntype = postgresql\n`, env, dir).clusters.db!);
      return { max_conns: o.maxConns };
    },
  },
];

function configError(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isSkitaiError(err), String(err));
    assert.equal(err.code, code, err.message);
    return err.message;
  }
  return assert.fail(`expected ${code}`);
}

describe('one reader: every section answers the same mistake the same way', () => {
  for (const s of SECTIONS) {
    const label = s.name.replace(/[@]/, '\\@');
    test(`[${s.name}] a malformed number: SKT_CONFIG_VALUE, file:line [section] key: expected … (got "…")`, () => {
      const message = configError(() => s.read(`${s.intKey} = lots`), 'SKT_CONFIG_VALUE');
      assert.match(message, new RegExp(`^/etc/skitai/site\\.conf:line 3 \\[${label}\\] ${s.intKey}: expected a whole number ${s.range} \\(got "lots"\\)$`));
    });

    test(`[${s.name}] out of range: the same shape`, () => {
      const message = configError(() => s.read(`${s.intKey} = 999999999`), 'SKT_CONFIG_VALUE');
      assert.match(message, new RegExp(`line 3 \\[${label}\\] ${s.intKey}: expected a whole number ${s.range} \\(got "999999999"\\)$`));
    });

    test(`[${s.name}] an empty value means "not set": the default`, () => {
      const read = s.read(`${s.intKey} =`);
      assert.equal(s.name === 'server' ? read.processes : read[s.intKey], s.intDefault);
    });

    test(`[${s.name}] an empty value from \${NAME:-} is the default too`, () => {
      const read = s.read(`${s.intKey} = \${UNSET_IN_TEST:-}`);
      assert.equal(s.name === 'server' ? read.processes : read[s.intKey], s.intDefault);
    });

    test(`[${s.name}] a value from the environment is quoted as written, not as its value`, () => {
      const message = configError(() => s.read(`${s.intKey} = \${CONNS}`, { CONNS: 'many' }), 'SKT_CONFIG_VALUE');
      assert.match(message, /\(got "\$\{CONNS\}", value not shown\)$/);
      assert.doesNotMatch(message, /many/);
    });

    test(`[${s.name}] a typo: SKT_CONFIG_UNKNOWN_KEY with "did you mean"`, () => {
      const typo = s.intKey.slice(0, -1);
      const message = configError(() => s.read(`${typo} = 3`), 'SKT_CONFIG_UNKNOWN_KEY');
      assert.match(message, new RegExp(`line 3 \\[${label}\\] ${typo}: unknown key "${typo}" in \\[${label}\\]; did you mean "${s.intKey}"\\?`));
    });
  }

  test('relative paths resolve against the config file directory in every section', () => {
    const dir = siteDir({ 'certs/ca.pem': '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' });
    assert.equal(SECTIONS[2]!.read('ca_file = certs/ca.pem', {}, dir).ca_file, path.join(dir, 'certs/ca.pem'));
    const tls = SECTIONS[1]!.read('tls_ca = certs/ca.pem', {}, dir).tls as { ca: string };
    assert.match(tls.ca, /BEGIN CERTIFICATE/);
    assert.equal(parse('[server]\nport = 0\nlog_path = logs\n', {}, dir).server.logPath, path.join(dir, 'logs'));
  });

  test('secret keys are never quoted, and are blanked on error pages, whatever their section', () => {
    const message = configError(() => parse('[server]\nport = 0\nadmin_password = abc12\n'), 'SKT_CONFIG_VALUE');
    assert.match(message, /\(value hidden\)$/);
    const c = parse('[server]\nadmin_password = adm1n-pw\n[smtpda]\nuser = me\npassword = smtp-s3cret\n[@db]\ntype = postgresql\nmembers = h/d/u/db-s3cret\n');
    const secrets = configSecrets(c);
    for (const s of ['adm1n-pw', 'smtp-s3cret', 'h/d/u/db-s3cret']) assert.ok(secrets.includes(s), s);
  });

  test('a list with a non-empty default is emptied by "none", and left at its default by an empty value', () => {
    assert.deepEqual(parse('[server]\nproxy_allow = none\n').server.proxyAllow, []);
    assert.deepEqual(parse('[server]\nproxy_allow =\n').server.proxyAllow, ['127.0.0.1', '::1']);
  });
});
