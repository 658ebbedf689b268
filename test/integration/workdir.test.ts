// Relative paths in app code do not depend on where the server was started: the working directory
// is the config file's folder in the foreground and under `skitaid start` (primary and workers), and
// addAttachment('001.png') finds the file next to the app module. Started from another folder.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { foreground, freePort, killDaemon, killForeground, skitaid, tempSite, type Foreground } from '../support/cli.js';
import { TestSmtp } from '../support/smtp.js';

const APP = `
import fs from 'node:fs';
import { App } from 'skitai';
export const app = new App();
app.route('/where', () => ({ cwd: process.cwd(), data: fs.readFileSync('data.txt', 'utf8') }));
app.route('/mail', async (was, { to }) => {
  const id = await was.email('Paths', 'site@example.com', to).addText('see attached').addAttachment('001.png').send();
  return { id };
});
app.route('/missing', async (was) => {
  try {
    await was.email('Paths', 'site@example.com', 'x@example.com').addAttachment('nope.png').send();
    return 'sent';
  } catch (err) {
    return { code: err.code, message: err.message };
  }
});
`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');

let relay: TestSmtp;
let elsewhere: string;
before(async () => {
  relay = await TestSmtp.start();
  // Started from here: not the config's folder, not the app's.
  elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-elsewhere-'));
  fs.writeFileSync(path.join(elsewhere, 'data.txt'), 'the wrong data.txt');
  fs.writeFileSync(path.join(elsewhere, '001.png'), 'the wrong 001.png');
});
after(async () => {
  await relay?.stop();
  fs.rmSync(elsewhere, { recursive: true, force: true });
});

function site(port: number, extra = ''): { dir: string; conf: string } {
  return tempSite(`[server]\nip = 127.0.0.1\nport = ${port}\naccess_log = off\n${extra}[routes:line]\n/ = ./apps/mailer\n[smtpda]\nsmtpserver = 127.0.0.1:${relay.port}\nscan_interval = 100ms\n`, {
    'apps/mailer.ts': APP,
    'apps/001.png': PNG,
    'data.txt': 'the data.txt next to site.conf',
  });
}

async function checkPaths(base: string, dir: string, to: string): Promise<void> {
  const where = (await (await fetch(`${base}/where`)).json()) as { cwd: string; data: string };
  assert.equal(fs.realpathSync(where.cwd), fs.realpathSync(dir), "process.cwd() in a handler is the config file's folder");
  assert.equal(where.data, 'the data.txt next to site.conf');
  const before = relay.messages.length;
  const res = await fetch(`${base}/mail?to=${to}`);
  assert.equal(res.status, 200, await res.clone().text());
  await relay.waitFor(before + 1, 10_000);
  const got = relay.messages.find((m) => m.to[0] === to)!;
  const mail = await simpleParser(got.raw);
  assert.equal(mail.attachments[0]?.filename, '001.png');
  assert.deepEqual(mail.attachments[0]?.content, PNG, 'the 001.png next to the app module');
  const missing = (await (await fetch(`${base}/missing`)).json()) as { code: string; message: string };
  assert.equal(missing.code, 'SKT_MAIL_ATTACHMENT');
  assert.equal(missing.message, `cannot attach ${path.join(dir, 'apps', 'nope.png')}: no such file`);
}

describe('the working directory and relative paths', () => {
  let fg: Foreground | undefined;
  const dirs: string[] = [];
  after(() => {
    killForeground(fg);
    for (const d of dirs) {
      killDaemon(path.join(d, 'var'));
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  test('foreground (one process), started from another folder', async () => {
    const port = await freePort();
    const t = site(port);
    dirs.push(t.dir);
    fg = foreground(['-c', path.relative(elsewhere, t.conf)], elsewhere);
    await fg.until(/listening on 127\.0\.0\.1:\d+/);
    await checkPaths(`http://127.0.0.1:${port}`, t.dir, 'fg@example.com');
    fg.child.kill('SIGTERM');
    assert.equal((await fg.exited).code, 0, fg.output());
  });

  test('skitaid start (daemon primary and its workers), started from another folder', async () => {
    const port = await freePort();
    const t = site(port, 'processes = 2\n');
    dirs.push(t.dir);
    const r = await skitaid(['start', '-c', path.relative(elsewhere, t.conf)], undefined, elsewhere);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    try {
      await checkPaths(`http://127.0.0.1:${port}`, t.dir, 'daemon@example.com');
    } finally {
      assert.equal((await skitaid(['stop', '-c', t.conf], undefined, elsewhere)).code, 0);
    }
  });
});
