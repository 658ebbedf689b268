// End to end, as a user ports the original's README example:
//     e = was.email (subject, snd, rcpt)
//     e.add_text ("Hello World<div><img src='cid:ID_A'></div>", "text/html")
//     e.add_attachment (r"001.png", cid="ID_A")
//     e.send ()
// with its [smtpda] section (ssl = no, no user) and a local relay that offers STARTTLS with a
// self-signed certificate (a stock MTA's "snakeoil" one), through a real `skitaid` started elsewhere.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { makeCert } from '../support/cert.js';
import { foreground, freePort, killForeground, tempSite, type Foreground } from '../support/cli.js';
import { TestSmtp, until } from '../support/smtp.js';

const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/send', async (was, { subject, snd, rcpt }) => {
  const e = was.email(subject, snd, rcpt);
  e.addText('Hello World');
  e.addText("Hello World<div><img src='cid:ID_A'></div>", 'text/html');
  e.addAttachment('001.png', undefined, 'ID_A');
  return { id: await e.send() };
}, { methods: ['POST'] });
// The seed's own shape: send() as a bare statement, nothing awaited; the answer does not wait for it.
app.route('/seed', (was, { subject, snd, rcpt }: { subject: string; snd: string; rcpt: string }) => {
  const e = was.email(subject, snd, rcpt);
  e.addText("Hello World<div><img src='cid:ID_A'></div>", 'text/html');
  e.addAttachment('001.png', undefined, 'ID_A');
  e.send();
  return 'sent';
});
app.route('/state/<id>', (was, { id }) => was.services.mail.lookup(id));
`;
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(3000, 7)]);

let relay: TestSmtp;
let certDir: string;
let site: { dir: string; conf: string };
let fg: Foreground | undefined;
let elsewhere: string;

before(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-seed-certs-'));
  const cert = makeCert(certDir, 'snakeoil');
  relay = await TestSmtp.start({ starttls: { key: fs.readFileSync(cert.key, 'utf8'), cert: fs.readFileSync(cert.cert, 'utf8') } });
  elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-seed-cwd-'));
});
after(async () => {
  killForeground(fg);
  await relay?.stop();
  for (const d of [certDir, elsewhere, site?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

test("the seed's mail example reaches a STARTTLS relay with a self-signed certificate, attachment and all", async () => {
  const port = await freePort();
  site = tempSite(
    `[server]\nip = 127.0.0.1\nport = ${port}\naccess_log = off\n\n[routes:line]\n/ = ./app/mailer\n\n` +
      `[smtpda]\nsmtpserver = 127.0.0.1:${relay.port}\nuser = \npassword = \nssl = no\nmax_retry = 10\nundelivers_keep_max_days = 30\n`,
    { 'app/mailer.ts': APP, 'app/001.png': PNG },
  );
  fg = foreground(['-c', site.conf], elsewhere);
  await fg.until(/listening on 127\.0\.0\.1:\d+/);
  const base = `http://127.0.0.1:${port}`;
  const res = await fetch(`${base}/send`, { method: 'POST', body: new URLSearchParams({ subject: 'Skitai 메일 ✓', snd: '"Skitai" <skitai@example.com>', rcpt: 'hansroh@example.com' }) });
  assert.equal(res.status, 200, await res.clone().text());
  const { id } = (await res.json()) as { id: string };

  const [got] = await relay.waitFor(1, 15_000);
  assert.equal(got!.secure, true, 'sent over STARTTLS');
  assert.equal(got!.from, 'skitai@example.com');
  assert.deepEqual(got!.to, ['hansroh@example.com']);
  const mail = await simpleParser(got!.raw, { keepCidLinks: true });
  assert.equal(mail.subject, 'Skitai 메일 ✓');
  assert.equal(mail.from?.value[0]?.name, 'Skitai');
  assert.equal(mail.text?.trim(), 'Hello World');
  assert.equal(String(mail.html), "Hello World<div><img src='cid:ID_A'></div>");
  assert.equal(mail.attachments.length, 1);
  const [image] = mail.attachments;
  assert.deepEqual([image!.filename, image!.cid, image!.contentDisposition, image!.contentType], ['001.png', 'ID_A', 'inline', 'image/png']);
  assert.deepEqual(image!.content, PNG);

  await until(async () => ((await (await fetch(`${base}/state/${id}`)).json()) as { state: string }).state === 'gone', 5000, 'the entry done');

  // Ported literally, with the bare e.send(): answered at once, and the mail still goes out.
  const bare = await fetch(`${base}/seed?${new URLSearchParams({ subject: 'bare send', snd: 'skitai@example.com', rcpt: 'hansroh@example.com' })}`);
  assert.equal(bare.status, 200);
  assert.equal(await bare.text(), 'sent');
  const [, second] = await relay.waitFor(2, 15_000);
  assert.equal(second!.secure, true, 'sent over STARTTLS');
  const seedMail = await simpleParser(second!.raw, { keepCidLinks: true });
  assert.equal(seedMail.subject, 'bare send');
  assert.deepEqual(seedMail.attachments[0]?.content, PNG);
  assert.equal((await fetch(`${base}/ping`)).status, 200, 'still serving');
  assert.doesNotMatch(fg.output(), /certificate/i);
  fg.child.kill('SIGTERM');
  assert.equal((await fg.exited).code, 0, fg.output());
});
