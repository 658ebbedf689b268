import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { formatDuration, formatStatus, readStatus, writeStatus, type InstanceStatus } from '../../src/process/status.js';

const sample: InstanceStatus = {
  name: 'site', pid: 100, config: '/srv/site.conf', state: 'running', started: 0, port: 8443, ssl: true,
  workers: [{ slot: 2, pid: 102, started: 0 }, { slot: 1, pid: 101, started: 0 }], respawns: 1, reloads: 1,
  lastReload: { at: Date.UTC(2026, 0, 2, 3, 4, 5), ok: true, message: '2 workers replaced' },
};

test('the status record round-trips through its file; a missing file reads as undefined', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-status-'));
  const file = path.join(dir, 'var/site.status.json');
  writeStatus(file, sample);
  assert.deepEqual(readStatus(file), sample);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['site.status.json'], 'no temp file left');
  assert.equal(readStatus(path.join(dir, 'nope.json')), undefined);
  fs.rmSync(dir, { recursive: true });
});

test('formatStatus lists workers by slot, port, uptime, respawns and the last reload', () => {
  assert.equal(
    formatStatus(sample, 3_723_000),
    'site is running\n  pid      100\n  workers  2: 101, 102\n  port     8443 (https)\n  uptime   1h 2m\n' +
      '  config   /srv/site.conf\n  respawns 1\n  reload   2026-01-02 03:04:05 UTC: 2 workers replaced\n',
  );
});

test('formatStatus says when it is a foreground run, and that a single process has no workers', () => {
  const single: InstanceStatus = { ...sample, ssl: false, workers: [], respawns: 0, reloads: 0, lastReload: undefined, mode: 'single' };
  assert.equal(
    formatStatus(single, 9_000),
    'site is running in the foreground\n  pid      100\n  workers  none: a single process serves (no reload; -w 1 runs one worker under a primary)\n' +
      '  port     8443\n  uptime   9s\n  config   /srv/site.conf\n',
  );
  assert.match(formatStatus({ ...sample, mode: 'foreground', state: 'stopping' }), /^site is running in the foreground \(stopping\)\n  pid      100\n  workers  2: 101, 102\n/);
});

test('formatDuration keeps two units', () => {
  assert.deepEqual([0, 9_999, 252_000, 7_500_000, 273_600_000].map(formatDuration), ['0s', '9s', '4m 12s', '2h 5m', '3d 4h']);
});
