import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { MailAgent } from '../../src/mail/agent.js';
import { Composer } from '../../src/mail/composer.js';
import { MailSpool } from '../../src/mail/spool.js';
import { memoryLogger, smtpdaOptions, TestSmtp, until } from '../support/smtp.js';
import { settle } from '../support/until.js';

// A full disk, for the agent only: writes of temp files under active/ fail with ENOSPC (root
// ignores permissions, and CI cannot mount a small file system, so the one call is replaced).
let root: string;
let server: TestSmtp | undefined;
let agent: MailAgent | undefined;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-disk-'));
});
afterEach(async () => {
  mock.restoreAll();
  await agent?.stop(100);
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

function fillActiveDisk(): void {
  const open = fsp.open.bind(fsp);
  mock.method(fsp, 'open', (file: fs.PathLike, ...rest: unknown[]) => {
    if (String(file).startsWith(path.join(root, 'active', '.tmp-'))) {
      return Promise.reject(Object.assign(new Error(`ENOSPC: no space left on device, open '${String(file)}'`), { code: 'ENOSPC' }));
    }
    return (open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
  });
}

test('a full disk when recording an attempt: the entry waits its retry delay instead of being sent again on every scan', async () => {
  server = await TestSmtp.start({ rcpt: (address) => (address.startsWith('later@') ? 451 : undefined) });
  const spool = new MailSpool({ root, maxMessageSize: 1 << 20 });
  const id = await new Composer(spool, 'once', 'a@example.com', ['now@example.com', 'later@example.com']).addText('hi').send();
  fillActiveDisk();
  const { logger, lines } = memoryLogger();
  agent = new MailAgent({ root, options: smtpdaOptions(server.port, 'retry_delays = 10m\nscan_interval = 20ms'), logger });
  await agent.start();
  await server.waitFor(1);
  await until(() => lines.some((l) => l.includes(`mail ${id}: cannot record the attempt`)), 3000, 'the failed write');
  await until(() => fs.readdirSync(path.join(root, 'spool')).includes(`${id}.json`), 3000, 'the entry back in the spool');
  // 25 scans: before the fix each one sent the message again (to now@, which already had it).
  // Counted as listings of the spool directory (a spy, the call goes through), not guessed from time.
  const readdir = mock.method(fsp, 'readdir');
  const spoolDir = path.join(root, 'spool');
  const scans = (): number => readdir.mock.calls.filter((c) => c.arguments[0] === spoolDir).length;
  await settle(scans, (n) => n >= 25, '25 more scans of the spool');
  assert.equal(server.messages.length, 1, 'the message was sent again while the disk was full');
  assert.deepEqual(fs.readdirSync(path.join(root, 'active')), []);
});

test('a slow disk while recording an attempt: the entry is not tried again until that attempt is recorded', async () => {
  // A relay that refuses connections: every attempt fails at once and is retried 20 ms later.
  const gone = await TestSmtp.start();
  await gone.stop();
  const spool = new MailSpool({ root, maxMessageSize: 1 << 20 });
  const id = await new Composer(spool, 'slow disk', 'a@example.com', 'b@example.com').addText('hi').send();
  // The first attempt renames its entry back into spool/ and then flushes that directory: the
  // flush is held here, as a loaded disk holds an fsync. The entry is visible and due meanwhile.
  const spoolDir = path.join(root, 'spool');
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let flushes = 0;
  const open = fsp.open.bind(fsp);
  mock.method(fsp, 'open', async (file: fs.PathLike, ...rest: unknown[]) => {
    if (String(file) === spoolDir && ++flushes === 1) await held;
    return (open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
  });
  const { logger, lines } = memoryLogger();
  agent = new MailAgent({ root, options: smtpdaOptions(gone.port, 'retry_delays = 20ms\nscan_interval = 20ms'), logger });
  await agent.start();
  await until(() => flushes === 1 && fs.readdirSync(spoolDir).includes(`${id}.json`), 3000, 'the first attempt back in the spool, its flush held');
  const readdir = mock.method(fsp, 'readdir');
  const scans = (): number => readdir.mock.calls.filter((c) => c.arguments[0] === spoolDir).length;
  // 25 scans with the entry due: before the fix each could start another attempt of the same entry,
  // which the first attempt's end then dropped from the agent's in-flight list.
  await settle(scans, (n) => n >= 25, '25 scans of the spool while the first attempt is being recorded');
  assert.equal(agent.status().attempts, 1, 'a second attempt started before the first one was recorded');
  assert.equal(agent.status().inFlight, 1);
  release();
  // The line comes after the move into undeliver/ and its flush: wait for the line itself.
  await until(() => lines.some((l) => l.includes(`mail ${id} attempt 11/11`)), 10_000, 'the last attempt logged');
  assert.equal((await spool.lookup(id)).state, 'undeliverable');
  const numbers = lines.flatMap((l) => /mail \S+ attempt (\d+)\/11/.exec(l)?.[1] ?? []).map(Number);
  assert.deepEqual(numbers, Array.from({ length: 11 }, (_, i) => i + 1), 'each attempt logged once, in order');
  assert.equal(agent.status().inFlight, 0);
});
