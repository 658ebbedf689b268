import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { checkPid, claimPid, isAlive, looksLikeSkitaid, readPid, releasePid } from '../../src/process/pidfile.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-pid-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A pid that is certainly not running: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

test('claim writes our pid (creating the directory); release removes only our own file', () => {
  const file = path.join(dir, 'a/b/site.pid');
  assert.deepEqual(claimPid(file), { ok: true });
  assert.equal(fs.readFileSync(file, 'utf8'), `${process.pid}\n`);
  assert.equal(readPid(file), process.pid);
  releasePid(file, process.pid + 1);
  assert.ok(fs.existsSync(file), 'a file naming another pid stays');
  releasePid(file);
  assert.ok(!fs.existsSync(file));
});

test('a live holder wins; a stale file is replaced', async () => {
  const file = path.join(dir, 'held.pid');
  fs.writeFileSync(file, `${process.pid}\n`);
  // The test runner is not skitaid: only where /proc cannot tell does the holder count as live.
  const mine = claimPid(file, 1);
  if (looksLikeSkitaid(process.pid)) assert.deepEqual(mine, { ok: false, pid: process.pid });
  const stale = path.join(dir, 'stale.pid');
  const dead = await deadPid();
  fs.writeFileSync(stale, `${dead}\n`);
  assert.deepEqual(checkPid(stale), { running: false, stale: dead });
  assert.deepEqual(claimPid(stale), { ok: true });
  assert.equal(readPid(stale), process.pid);
});

test('garbage and missing files hold no pid', () => {
  const file = path.join(dir, 'junk.pid');
  fs.writeFileSync(file, 'not a pid');
  assert.equal(readPid(file), undefined);
  assert.deepEqual(checkPid(file), { running: false, stale: undefined });
  assert.equal(readPid(path.join(dir, 'none.pid')), undefined);
});

test('isAlive: ourselves yes, a reaped child no; /proc tells skitaid from other programs', async () => {
  assert.ok(isAlive(process.pid));
  assert.ok(!isAlive(await deadPid()));
  if (fs.existsSync('/proc/self/cmdline')) assert.equal(looksLikeSkitaid(process.pid), process.argv.join(' ').includes('skitaid'));
});
