import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { foreground, freePort, killForeground, tempSite, type Foreground } from '../support/cli.js';
import { startSite, type TestSite } from '../support/site.js';
import { TestSmtp, until } from '../support/smtp.js';

const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/contact', async (was, { to, name = 'friend' }) => {
  const id = await was
    .email(\`Hello \${name} ✓\`, '"Site" <site@example.com>', to)
    .addText(\`Dear \${name}, thanks.\`)
    .addAttachment(new URL('./terms.txt', import.meta.url).pathname)
    .send();
  return { id, state: await was.services.mail.lookup(id) };
}, { methods: ['POST'] });
app.route('/state/<id>', async (was, { id }) => was.services.mail.lookup(id));
app.route('/mailstatus', async (was) => was.services.mail.status());
`;

let smtp: TestSmtp;
let site: TestSite;
let bare: TestSite;

before(async () => {
  smtp = await TestSmtp.start();
  site = await startSite(`[routes:line]\n/ = ./app\n\n[smtpda]\nsmtpserver = 127.0.0.1:${smtp.port}\nscan_interval = 100ms\n`, {
    'app.ts': APP,
    'terms.txt': 'Terms apply.',
  });
  bare = await startSite('[routes:line]\n/ = ./app\n', { 'app.ts': APP, 'terms.txt': 'x' });
});
after(async () => {
  await Promise.all([site?.close(), bare?.close()]);
  await smtp?.stop();
});

const post = (base: string, form: Record<string, string>): Promise<Response> =>
  fetch(`${base}/contact`, { method: 'POST', body: new URLSearchParams(form) });

describe('was.email through a running site', () => {
  test('an app route spools a message; the site agent delivers it', async () => {
    const res = await post(site.base, { to: 'reader@example.com', name: 'Ana' });
    assert.equal(res.status, 200);
    const { id, state } = (await res.json()) as { id: string; state: { state: string } };
    // Honest: send() means queued (or already being sent), never "delivered".
    assert.ok(['queued', 'sending', 'gone'].includes(state.state), state.state);
    const [got] = await smtp.waitFor(1);
    assert.deepEqual(got!.to, ['reader@example.com']);
    const mail = await simpleParser(got!.raw);
    assert.equal(mail.subject, 'Hello Ana ✓');
    assert.equal(mail.text?.trim(), 'Dear Ana, thanks.');
    assert.equal(mail.attachments[0]?.content.toString(), 'Terms apply.');
    await until(async () => ((await (await fetch(`${site.base}/state/${id}`)).json()) as { state: string }).state === 'gone', 2000, 'gone');
    await until(() => site.logLines.some((l) => l.includes(`mail ${id} attempt 1/11 to reader@example.com`) && l.includes('sent to reader@example.com')), 2000, 'the attempt line');
    assert.ok(fs.existsSync(path.join(site.dir, 'var', 'mail', 'undeliver')), 'the spool lives under <var_path>/mail');
    const status = (await (await fetch(`${site.base}/mailstatus`)).json()) as { queued: number; agent: { running: boolean; delivered: number } };
    assert.equal(status.queued, 0);
    assert.deepEqual([status.agent.running, status.agent.delivered], [true, 1]);
  });

  test('a bad address from a form is a 400 with the reason; nothing is queued', async () => {
    const res = await post(site.base, { to: 'reader@@example' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /not a valid recipient address/);
    assert.deepEqual(fs.readdirSync(path.join(site.dir, 'var', 'mail', 'spool')), []);
  });

  test('enabled = no pauses delivery: send() still queues, lookup says queued, nothing is sent', async () => {
    const paused = await startSite(`[routes:line]\n/ = ./app\n[smtpda]\nenabled = no\nsmtpserver = 127.0.0.1:${smtp.port}\n`, { 'app.ts': APP, 'terms.txt': 'x' });
    try {
      const before = smtp.messages.length;
      const res = await post(paused.base, { to: 'later@example.com' });
      assert.equal(res.status, 200);
      const { id, state } = (await res.json()) as { id: string; state: { state: string; attempts: number } };
      assert.deepEqual([state.state, state.attempts], ['queued', 0]);
      assert.ok(paused.logLines.some((l) => l.includes('enabled = no: mail is spooled but not delivered')));
      // No agent runs in this site, so nothing can send it later either: no need to wait and see.
      const status = (await (await fetch(`${paused.base}/mailstatus`)).json()) as { queued: number; agent?: unknown };
      assert.deepEqual([status.queued, status.agent], [1, undefined]);
      assert.equal(smtp.messages.length, before);
      assert.deepEqual(fs.readdirSync(path.join(paused.dir, 'var', 'mail', 'spool')), [`${id}.json`]);
    } finally {
      await paused.close();
    }
  });

  test('a spool that cannot be created stops the start with SKT_MAIL_SPOOL', async () => {
    const { parseConfigText } = await import('../../src/config/load.js');
    const { Site } = await import('../../src/site.js');
    const { memoryLogger } = await import('../support/smtp.js');
    const blocker = path.join(site.dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const config = parseConfigText(`[server]\nip = 127.0.0.1\nport = 0\nvar_path = ${blocker}\n[smtpda]\n`, path.join(site.dir, 'x.conf'), site.dir);
    const s = new Site(config, { logger: memoryLogger().logger });
    await assert.rejects(s.listen(), (err: Error & { code?: string }) => err.code === 'SKT_MAIL_SPOOL' && /cannot create the mail spool under .*not-a-dir/.test(err.message));
    await s.close(100);
  });

  test('a port already taken: skitaid says why and exits, the agent does not keep it running', async () => {
    const { skitaid } = await import('../support/cli.js');
    const net = await import('node:net');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const t = tempSite(`[server]\nip = 127.0.0.1\nport = ${(taken.address() as { port: number }).port}\n[smtpda]\nsmtpserver = 127.0.0.1:${smtp.port}\n`);
    try {
      const r = await skitaid(['-c', t.conf]);
      assert.equal(r.code, 1, `exit code ${r.code} (null: still running, killed by the test)\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /start-up failed: .*EADDRINUSE/);
    } finally {
      taken.close();
      fs.rmSync(t.dir, { recursive: true, force: true });
    }
  });

  test('without [smtpda] send() fails rather than queue mail nobody sends', async () => {
    const res = await post(bare.base, { to: 'reader@example.com' });
    assert.equal(res.status, 500);
    assert.ok(bare.logLines.some((l) => l.includes('SKT_MAIL_DISABLED') || l.includes('no [smtpda] section')));
  });
});

describe('was.email with workers (-w 2)', () => {
  let fg: Foreground | undefined;
  let dir: string | undefined;
  after(() => {
    killForeground(fg);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('workers spool, the primary runs the one agent, every message arrives once; SIGTERM stops it cleanly', async () => {
    const relay = await TestSmtp.start();
    try {
      const conf = `[server]\nip = 127.0.0.1\naccess_log = off\n[routes:line]\n/ = ./app\n[smtpda]\nsmtpserver = 127.0.0.1:${relay.port}\n`;
      const t = tempSite(conf, { 'app.ts': APP, 'terms.txt': 'x' });
      dir = t.dir;
      const port = await freePort();
      fg = foreground(['-c', t.conf, '-p', String(port), '-w', '2']);
      await fg.until(/2 workers listening on port \d+/);
      for (let i = 0; i < 6; i++) assert.equal((await post(`http://127.0.0.1:${port}`, { to: `r${i}@example.com` })).status, 200);
      await relay.waitFor(6, 10_000);
      const out = fg.output();
      assert.equal(out.match(/smtpda: delivering/g)?.length, 1, `one agent:\n${out}`);
      fg.child.kill('SIGTERM');
      assert.equal((await fg.exited).code, 0, fg.output());
      assert.deepEqual(relay.messages.map((m) => m.to[0]).sort(), [0, 1, 2, 3, 4, 5].map((i) => `r${i}@example.com`));
    } finally {
      await relay.stop();
    }
  });
});
