import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
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
  });

  test('a bad address from a form is a 400 with the reason; nothing is queued', async () => {
    const res = await post(site.base, { to: 'reader@@example' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /not a valid recipient address/);
    assert.deepEqual(fs.readdirSync(path.join(site.dir, 'var', 'mail', 'spool')), []);
  });

  test('without [smtpda] send() fails rather than queue mail nobody sends', async () => {
    const res = await post(bare.base, { to: 'reader@example.com' });
    assert.equal(res.status, 500);
    assert.ok(bare.logLines.some((l) => l.includes('SKT_MAIL_DISABLED') || l.includes('no [smtpda] section')));
  });
});
