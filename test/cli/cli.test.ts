import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { systemdUnit } from '../../src/cli/service.js';
import { USAGE } from '../../src/cli/usage.js';
import { BIN, skitaid, tempSite } from '../support/cli.js';

const site = tempSite('[server]\nport = 8080\ngrace_period = 30\n');
after(() => fs.rmSync(site.dir, { recursive: true, force: true }));

test('skitaid --help prints USAGE, and docs/cli.md carries the same text', async () => {
  const r = await skitaid(['--help']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, USAGE);
  const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/cli.md'), 'utf8');
  assert.ok(doc.includes('```\n' + USAGE + '```\n'), 'docs/cli.md must quote `skitaid --help` verbatim in a code block');
});

test('usage mistakes exit 2 and say what is wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['status', '--force'], /--force goes with stop/],
    [['-p', 'http'], /--port expects a whole number/],
    [['-w', '0'], /--workers expects a whole number from 1/],
    [['install-service'], /install-service needs -c FILE/],
  ];
  const results = await Promise.all(cases.map(([args]) => skitaid(args)));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, cases[i]![0].join(' '));
    assert.match(r.stderr, cases[i]![1]);
  });
});

test('install-service prints a Type=forking unit around skitaid start; --write puts it in --unit-dir', async () => {
  const printed = await skitaid(['install-service', '-c', site.conf]);
  assert.equal(printed.code, 0, printed.stderr);
  const unit = printed.stdout;
  assert.match(unit, /^Type=forking$/m);
  assert.match(unit, new RegExp(`^PIDFile=${path.join(site.dir, 'var/site.pid')}$`, 'm'));
  assert.match(unit, new RegExp(`^ExecStart=\\S+node \\S+bin/skitaid\\.js start -c ${site.conf}$`, 'm'));
  assert.match(unit, /^ExecReload=.* reload -c /m);
  assert.match(unit, /^KillMode=mixed$/m);
  assert.match(unit, /^TimeoutStopSec=50$/m, 'grace_period + 20 s');
  const dir = path.join(site.dir, 'units');
  fs.mkdirSync(dir);
  const written = await skitaid(['install-service', '-c', site.conf, '--write', '--unit-dir', dir]);
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stdout, /systemctl enable --now skitaid-site\.service/);
  assert.equal(fs.readFileSync(path.join(dir, 'skitaid-site.service'), 'utf8'), unit);
});

test('the unit quotes odd paths', () => {
  const config = parseConfigText('[server]\nport = 443\n', '/srv/my site/100%.conf', '/srv/my site');
  const unit = systemdUnit(config, 'www', '/usr/bin/node', '/opt/skitai/bin/skitaid.js');
  assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/skitai\/bin\/skitaid\.js start -c "\/srv\/my site\/100%%\.conf"$/m);
  assert.match(unit, /^ReadWritePaths="-\/srv\/my site\/var"$/m);
  assert.match(unit, /^#   install -d -o www -g www -m 0750 '\/srv\/my site\/var'$/m);
});

test('a reader that closes the pipe early is no error: no stack, the command\'s own exit code', async () => {
  // `head -c 0` exits at once, so skitaid's first write meets a closed pipe (EPIPE); pipefail gives skitaid's code.
  const piped = (args: string): Promise<{ code: number; stderr: string }> =>
    new Promise((resolve) => {
      execFile('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" ${args} | head -c 0`], (err, _stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stderr }),
      );
    });
  const [help, status] = await Promise.all([piped('--help'), piped(`status -c "${site.conf}"`)]);
  assert.deepEqual(help, { code: 0, stderr: '' });
  assert.deepEqual(status, { code: 3, stderr: '' }, 'status of a site that is not running still exits 3');
});
