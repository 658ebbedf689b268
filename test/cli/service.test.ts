import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { systemdUnit } from '../../src/cli/service.js';
import { parseConfigText } from '../../src/config/load.js';
import { skitaid, tempSite } from '../support/cli.js';

const NODE = '/usr/bin/node';
const BIN = '/opt/skitai/bin/skitaid.js';
const unitFor = (server: string, user?: string, file = '/srv/app/site.conf'): string =>
  systemdUnit(parseConfigText(`[server]\n${server}\n`, file, path.dirname(file)), user, NODE, BIN);

/** `key=value` lines of the unit, for settings that may repeat. */
const settings = (unit: string, key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

describe('install-service: the unit', () => {
  test('runs as the skitai system user by default and says how to create it; --user names another', async () => {
    const unit = unitFor('port = 8080');
    assert.deepEqual(settings(unit, 'User'), ['skitai']);
    assert.match(unit, /^#\s+useradd --system .* skitai$/m);
    assert.match(unit, /^#\s+install -d -o skitai -g skitai -m 0750 \/srv\/app\/var$/m);
    const www = unitFor('port = 8080', 'www');
    assert.deepEqual(settings(www, 'User'), ['www']);
    assert.doesNotMatch(www, /useradd/, 'an existing user is not created');

    const site = tempSite('[server]\nport = 8080\n');
    after(() => fs.rmSync(site.dir, { recursive: true, force: true }));
    // One skitaid at a time, with time to spare: the suite runs beside other work on two cores.
    const printed = await skitaid(['install-service', '-c', site.conf, '--user', 'www-data']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^User=www-data$/m);
    const dir = path.join(site.dir, 'units');
    fs.mkdirSync(dir);
    const written = await skitaid(['install-service', '-c', site.conf, '--write', '--unit-dir', dir]);
    assert.equal(written.code, 0, written.stderr);
    for (const [args, message] of [[['--user', 'www'], /--user go with install-service/], [['install-service', '-c', site.conf, '--user', 'a b'], /--user expects a user name/]] as const) {
      const r = await skitaid([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
    assert.match(written.stdout, /next, as root:\n {2}useradd --system .* skitai\n {2}install -d -o skitai .*\n {2}systemctl daemon-reload && systemctl enable --now skitaid-site\.service\n$/);
  });

  test('hardening: no capabilities above port 1024, CAP_NET_BIND_SERVICE alone below; never MemoryDenyWriteExecute', () => {
    const high = unitFor('port = 8080');
    assert.deepEqual(settings(high, 'CapabilityBoundingSet'), ['']);
    assert.deepEqual(settings(high, 'AmbientCapabilities'), []);
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['PrivateTmp', 'yes'], ['ProtectHome', 'yes'],
      ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6'], ['SystemCallFilter', '@system-service'], ['SystemCallErrorNumber', 'EPERM'], ['UMask', '0027']]) {
      assert.deepEqual(settings(high, key!), [value], key);
    }
    assert.doesNotMatch(high, /MemoryDenyWriteExecute/);
    const low = unitFor('port = 443');
    assert.deepEqual(settings(low, 'CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(settings(low, 'AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
  });

  test('writable: var and a log_path, pid_file or access_log outside it; nothing else', () => {
    assert.deepEqual(settings(unitFor('port = 8080'), 'ReadWritePaths'), ['-/srv/app/var']);
    const moved = unitFor('port = 8080\nlog_path = /var/log/app\npid_file = /run/app/app.pid\naccess_log = /var/log/app/access.log');
    assert.deepEqual(settings(moved, 'ReadWritePaths'), ['-/srv/app/var', '-/var/log/app', '-/run/app']);
  });

  test('a site under /home is made read-only rather than hidden; the forward proxy gets AF_NETLINK', () => {
    assert.deepEqual(settings(unitFor('port = 8080', undefined, '/home/me/app/site.conf'), 'ProtectHome'), ['read-only']);
    assert.deepEqual(settings(unitFor('port = 8080\nenable_proxy = yes'), 'RestrictAddressFamilies'), ['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
  });
});

// Debian's `systemd` package; it works on a machine where systemd is not running (.ci/run installs it).
const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('systemd-analyze on the unit', { skip: analyze ? false : 'systemd-analyze is not installed (apt-get install systemd)' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-unit-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string, string | undefined][] = [
    ['port 8080, default user', 'port = 8080', undefined],
    ['port 443, --user www-data, forward proxy, logs elsewhere', 'port = 443\nenable_proxy = yes\nlog_path = /var/log/app', 'www-data'],
  ];
  for (const [what, server, user] of cases) {
    test(`${what}: verify is clean and the exposure is below 3.0`, () => {
      const config = parseConfigText(`[server]\nname = site\n${server}\n`, path.join(dir, 'site.conf'), dir);
      // The real node and launcher: verify checks that ExecStart's program exists.
      const file = path.join(dir, 'skitaid-site.service');
      fs.writeFileSync(file, systemdUnit(config, user));
      const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.equal(verify.status, 0, verify.stderr);
      assert.equal(verify.stderr.trim(), '', 'verify prints warnings (unknown keys, bad values) on stderr');
      const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
      assert.equal(security.status, 0, security.stderr);
      const level = /Overall exposure level for skitaid-site\.service: (\d+\.\d+)/.exec(security.stdout);
      assert.ok(level, security.stdout);
      assert.ok(Number(level[1]) < 3.0, `exposure ${level[1]}:\n${security.stdout}`);
    });
  }
});
