import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { instancePaths, logPlan } from '../../src/process/paths.js';

test('paths default to var/ next to the config file; logs go to files only for a daemon or with log_path', () => {
  const conf = (text: string) => parseConfigText(`[server]\n${text}`, '/srv/app/site.conf', '/srv/app');
  assert.deepEqual(instancePaths(conf('')), {
    varDir: '/srv/app/var', logDir: '/srv/app/var/log', pidFile: '/srv/app/var/site.pid',
    statusFile: '/srv/app/var/site.status.json', stderrLog: '/srv/app/var/log/stderr.log',
  });
  const moved = instancePaths(conf('var_path = /var/lib/x\nlog_path = logs\npid_file = /run/x.pid\nname = www'));
  assert.deepEqual(moved, {
    varDir: '/var/lib/x', logDir: '/srv/app/logs', pidFile: '/run/x.pid', statusFile: '/var/lib/x/www.status.json', stderrLog: '/srv/app/logs/stderr.log',
  });
  assert.deepEqual(logPlan(conf(''), { daemon: false, verbose: false }), { server: 'console', access: undefined });
  assert.deepEqual(logPlan(conf(''), { daemon: true, verbose: true }), {
    server: { file: '/srv/app/var/log/server.log' }, access: { file: '/srv/app/var/log/request.log' },
  });
  assert.deepEqual(logPlan(conf('log_path = logs\naccess_log = off'), { daemon: false, verbose: false }), {
    server: { file: '/srv/app/logs/server.log' }, access: undefined,
  });
  assert.deepEqual(logPlan(conf('log_path = logs'), { daemon: false, verbose: true }), { server: 'console', access: undefined }, '-v keeps the console');
});
