import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { MailAgent } from '../../src/mail/agent.js';
import { Composer } from '../../src/mail/composer.js';
import { credentialsNeedTls } from '../../src/mail/deliver.js';
import { MailSpool, summarizeSpool } from '../../src/mail/spool.js';
import { memoryLogger, smtpdaOptions, TestSmtp, until } from '../support/smtp.js';

let root: string;
const servers: TestSmtp[] = [];
const agents: MailAgent[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-mail-'));
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop(100)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});
after(() => undefined);

async function smtp(behaviour?: ConstructorParameters<typeof TestSmtp>[0]): Promise<TestSmtp> {
  const s = await TestSmtp.start(behaviour);
  servers.push(s);
  return s;
}

async function agentFor(port: number, extra = ''): Promise<{ agent: MailAgent; spool: MailSpool; lines: string[] }> {
  const options = smtpdaOptions(port, extra);
  const { logger, lines } = memoryLogger();
  const agent = new MailAgent({ root, options, logger });
  const spool = new MailSpool({ root, maxMessageSize: options.maxMessageSize, onQueued: () => agent.wake() });
  agents.push(agent);
  await agent.start();
  return { agent, spool, lines };
}

const files = (dir: string): string[] => (fs.existsSync(path.join(root, dir)) ? fs.readdirSync(path.join(root, dir)) : []);

describe('smtpda delivery', () => {
  test('a message with headers, UTF-8 subject, text, html, an attachment and an inline image arrives as composed', async () => {
    const server = await smtp();
    const { spool } = await agentFor(server.port);
    const dir = fs.mkdtempSync(path.join(root, 'att-'));
    fs.writeFileSync(path.join(dir, 'report.csv'), 'a,b\n1,2\n');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    fs.writeFileSync(path.join(dir, 'logo.png'), png);
    const id = await new Composer(spool, 'Grüße — 안녕하세요', '"Sender Ü" <sender@example.com>', ['rcpt@example.com', 'Other <other@example.org>'])
      .setHeader('Reply-To', 'help@example.com')
      .setHeader('X-Priority', '3')
      .addText('Hello, wörld')
      .addHtml('<p>Hi <img src="cid:logo1"></p>')
      .addAttachment(path.join(dir, 'report.csv'), 'Report.csv')
      .addAttachment(path.join(dir, 'logo.png'), undefined, 'logo1')
      .send();
    assert.match(id, /^[0-9a-z]{11}-[0-9a-f]{12}$/);
    const [got] = await server.waitFor(1);
    assert.equal(got!.from, 'sender@example.com');
    assert.deepEqual(got!.to.sort(), ['other@example.org', 'rcpt@example.com']);
    const mail = await simpleParser(got!.raw, { keepCidLinks: true });
    assert.equal(mail.subject, 'Grüße — 안녕하세요');
    assert.equal(mail.from?.value[0]?.name, 'Sender Ü');
    assert.equal(mail.headers.get('reply-to') && (mail.replyTo?.value[0]?.address), 'help@example.com');
    assert.match(got!.raw.toString('latin1'), /^X-Priority: 3\r$/m);
    assert.match(got!.raw.toString('latin1'), /^X-Mailer: Skitai\r$/m);
    assert.ok(mail.messageId && mail.date, 'Message-ID and Date are set');
    assert.equal(mail.text?.trim(), 'Hello, wörld');
    assert.match(String(mail.html), /<img src="cid:logo1">/);
    const csv = mail.attachments.find((a) => a.filename === 'Report.csv')!;
    assert.equal(csv.content.toString(), 'a,b\n1,2\n');
    assert.equal(csv.contentDisposition, 'attachment');
    const logo = mail.attachments.find((a) => a.cid === 'logo1')!;
    assert.equal(logo.contentDisposition, 'inline');
    assert.deepEqual(logo.content, png);
    await until(() => files('active').length === 0, 2000, 'claim removed');
    assert.deepEqual(files('spool'), []);
    assert.deepEqual((await spool.lookup(id)).state, 'gone');
  });

  test('send() resolves only after the entry is on disk (0600, JSON, no password of [smtpda])', async () => {
    const spool = new MailSpool({ root, maxMessageSize: 1 << 20 });
    const id = await new Composer(spool, 'Hi', 'a@example.com', 'b@example.com').addText('x').send();
    const file = path.join(root, 'spool', `${id}.json`);
    assert.ok(fs.existsSync(file));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const entry = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(entry.smtp, null);
    assert.deepEqual(entry.recipients, [{ address: 'b@example.com', state: 'pending' }]);
    assert.deepEqual(await spool.lookup(id), { state: 'queued', attempts: 0, nextAt: entry.nextAt, lastError: undefined, pending: ['b@example.com'] });
    assert.deepEqual(await spool.status(), { queued: 1, sending: 0, undeliverable: 0, corrupt: 0 });
  });

  test('relay down: the entry stays, is retried on the schedule, and is delivered once the relay is back', async () => {
    const server = await smtp();
    const port = server.port;
    await server.stop();
    const { spool, lines } = await agentFor(port, 'retry_delays = 150ms, 300ms\nmax_retry = 20');
    const id = await new Composer(spool, 'Later', 'a@example.com', 'b@example.com').addText('x').send();
    // The entry as seen between two attempts: it is retried every 0.3 s, so it is read once, here.
    const state = await until(async () => {
      const now = await spool.lookup(id);
      return now.state === 'queued' && lines.some((l) => l.includes('attempt 3/21')) ? now : undefined;
    }, 5000, 'three failed attempts');
    const attempts = lines.filter((l) => l.includes(`mail ${id} attempt`));
    assert.match(attempts[0]!, /attempt 1\/21 to b@example\.com via 127\.0\.0\.1:\d+: .*ECONNREFUSED.*; retry 1 in 0\.15s/);
    assert.match(attempts[1]!, /retry 2 in 0\.3s/);
    assert.match(attempts[2]!, /retry 3 in 0\.3s/);
    assert.match((state as { lastError: string }).lastError, /ECONNREFUSED/);
    await server.listen();
    const got = await server.waitFor(1);
    assert.equal(got.length, 1);
    await until(() => lines.some((l) => l.includes(`mail ${id} attempt`) && l.includes('sent to b@example.com')), 2000, 'sent line');
  });

  test('a relay that trickles its reply forever is cut at attempt_timeout and retried; the slot is free again', async () => {
    // Greets, then answers EHLO with one "250-" continuation line every 100 ms and never ends it:
    // each line resets the inactivity timeout.
    const tarpit = net.createServer((socket) => {
      let timer: NodeJS.Timeout | undefined;
      socket.on('error', () => undefined);
      socket.on('close', () => clearInterval(timer));
      socket.on('data', () => (timer ??= setInterval(() => socket.write('250-still thinking\r\n'), 100)));
      socket.write('220 tarpit ESMTP\r\n');
    });
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
    try {
      const { agent, spool, lines } = await agentFor((tarpit.address() as net.AddressInfo).port, 'timeout = 1s\nattempt_timeout = 1s\nretry_delays = 10m\nconcurrency = 1');
      const id = await new Composer(spool, 'Slow', 'a@example.com', 'b@example.com').addText('x').send();
      // The log line comes last, once the entry is back in the spool.
      await until(() => lines.some((l) => l.includes(`mail ${id} attempt 1/11`)), 10_000, 'the attempt cut');
      assert.ok(lines.some((l) => l.includes(`mail ${id} attempt 1/11`) && l.includes('retry 1 in 600s')));
      const state = await spool.lookup(id);
      assert.equal(state.state, 'queued');
      assert.match((state as { lastError: string }).lastError, /did not finish within attempt_timeout \(1 s\)/);
      await until(() => agent.status().inFlight === 0, 2000, 'the slot freed');
    } finally {
      tarpit.close();
    }
  });

  test('a permanent 550 moves the entry to undeliver at once, with the reason', async () => {
    const server = await smtp({ rcpt: () => 550 });
    const { spool, lines } = await agentFor(server.port);
    const id = await new Composer(spool, 'No', 'a@example.com', 'nobody@example.com').addText('x').send();
    await until(() => lines.some((l) => l.includes('undeliverable')), 3000, 'undeliver');
    const state = await spool.lookup(id);
    assert.equal(state.state, 'undeliverable');
    assert.match((state as { reason: string }).reason, /550/);
    assert.deepEqual((state as { failed: readonly string[] }).failed, ['nobody@example.com']);
    assert.equal(lines.filter((l) => l.includes(`mail ${id} attempt`)).length, 1, 'one attempt only');
    assert.equal(server.messages.length, 0);
    // A setSmtp() password is not kept in undeliver/ (for undelivers_keep_max_days).
    const own = await new Composer(spool, 'No', 'a@example.com', 'nobody@example.com').setSmtp(`127.0.0.1:${server.port}`, 'mailer', 'Kept-N0t-S3cret').addText('x').send();
    await until(async () => (await spool.lookup(own)).state === 'undeliverable', 3000, 'undeliver');
    const kept = fs.readFileSync(path.join(root, 'undeliver', `${own}.json`), 'utf8');
    assert.ok(!kept.includes('Kept-N0t-S3cret'), 'the relay password is kept in undeliver/');
    assert.equal(JSON.parse(kept).smtp.user, 'mailer');
  });

  test('max_retry exhausted (4xx every time): undeliver after max_retry + 1 attempts', async () => {
    const server = await smtp({ data: () => 451 });
    const { spool, lines } = await agentFor(server.port, 'max_retry = 2\nretry_delays = 50ms');
    const id = await new Composer(spool, 'Busy', 'a@example.com', 'b@example.com').addText('x').send();
    await until(() => lines.some((l) => l.includes('undeliverable')), 4000, 'undeliver');
    const tries = lines.filter((l) => l.includes(`mail ${id} attempt`));
    assert.equal(tries.length, 3);
    assert.match(tries[2]!, /attempt 3\/3 .*451.*undeliverable/);
    const entry = JSON.parse(fs.readFileSync(path.join(root, 'undeliver', `${id}.json`), 'utf8'));
    assert.equal(entry.attempts, 3);
    assert.match(entry.undeliverable, /gave up after 3 attempts: .*451/);
    // What `skitaid status` prints, read from disk.
    assert.match(summarizeSpool(root), new RegExp(`^0 queued, 0 sending, 1 undeliverable, 0 corrupt\\n  last error mail ${id}: Message failed: 451 `));
  });

  test('per-recipient state: a refused recipient fails, a deferred one is retried alone, an accepted one gets exactly one copy', async () => {
    let deferrals = 1;
    const server = await smtp({
      rcpt: (a) => (a === 'bad@example.com' ? 550 : a === 'later@example.com' && deferrals-- > 0 ? 450 : undefined),
    });
    const { spool } = await agentFor(server.port);
    const id = await new Composer(spool, 'Mixed', 'a@example.com', 'ok@example.com, bad@example.com, later@example.com').addText('x').send();
    await until(() => files('undeliver').length === 1, 4000, 'undeliver');
    await server.waitFor(2);
    assert.deepEqual(server.messages.map((m) => m.to), [['ok@example.com'], ['later@example.com']]);
    const entry = JSON.parse(fs.readFileSync(path.join(root, 'undeliver', `${id}.json`), 'utf8'));
    assert.deepEqual(entry.recipients.map((r: { address: string; state: string }) => [r.address, r.state]), [
      ['ok@example.com', 'sent'],
      ['bad@example.com', 'failed'],
      ['later@example.com', 'sent'],
    ]);
    assert.equal(entry.recipients[1].code, 550);
  });

  test('a 451 after DATA defers the whole message; the next attempt sends it once and fails the 550 recipient', async () => {
    let busy = 1;
    const server = await smtp({ rcpt: (a) => (a === 'bad@example.com' ? 550 : undefined), data: () => (busy-- > 0 ? 451 : undefined) });
    const { spool, lines } = await agentFor(server.port);
    const id = await new Composer(spool, 'Busy once', 'a@example.com', 'ok@example.com, bad@example.com').addText('x').send();
    await until(() => lines.some((l) => l.includes('undeliverable')), 3000, 'done');
    const tries = lines.filter((l) => l.includes(`mail ${id} attempt`));
    assert.match(tries[0]!, /attempt 1\/11 to ok@example\.com, bad@example\.com via .*: Message failed: 451 .*; retry 1/);
    // nodemailer reports no RCPT rejections with a DATA failure, so bad@ is learnt on the next attempt.
    assert.match(tries[1]!, /attempt 2\/11 .*: sent to ok@example\.com; bad@example\.com: .*550.*; undeliverable/);
    assert.deepEqual(server.messages.map((m) => m.to), [['ok@example.com']]);
  });

  test('AUTH with user and password works; the password is in no log line', async () => {
    const secret = 'pa55-w0rd-S3cret';
    const server = await smtp({ auth: { user: 'mailer', pass: secret } });
    const { spool, lines } = await agentFor(server.port, `user = mailer\npassword = ${secret}`);
    await new Composer(spool, 'Auth', 'a@example.com', 'b@example.com').addText('x').send();
    const [got] = await server.waitFor(1);
    assert.equal(got!.user, 'mailer');
    // A wrong per-message password: refused login is retried (the operator fixes the relay), never logged.
    const wrong = 'WrOng-Secret-77';
    const id = await new Composer(spool, 'Auth2', 'a@example.com', 'b@example.com').setSmtp(`127.0.0.1:${server.port}`, 'mailer', wrong).addText('x').send();
    await until(() => lines.some((l) => l.includes(`mail ${id} attempt 1`)), 3000, 'failed login attempt');
    assert.ok(lines.some((l) => l.includes(`mail ${id}`) && /535|Invalid/.test(l) && l.includes('retry')));
    for (const l of lines) {
      assert.ok(!l.includes(secret), `secret in: ${l}`);
      assert.ok(!l.includes(wrong), `secret in: ${l}`);
    }
  });

  test('a login to a relay over the network waits for STARTTLS: never sent in the clear', async (t) => {
    assert.equal(credentialsNeedTls({ host: 'smtp.example.com', port: 587, user: 'u', password: 'p', ssl: false }), true);
    assert.equal(credentialsNeedTls({ host: 'smtp.example.com', port: 465, user: 'u', password: 'p', ssl: true }), false, 'SMTPS is TLS already');
    assert.equal(credentialsNeedTls({ host: 'smtp.example.com', port: 25, user: undefined, password: undefined, ssl: false }), false, 'no login');
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(credentialsNeedTls({ host, port: 25, user: 'u', password: 'p', ssl: false }), false, host);
    // The real thing needs an address that is not loopback (CI containers have eth0; skip without one).
    const ip = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!ip) return t.skip('no non-loopback IPv4 address on this machine');
    const secret = 'cl34r-t3xt-S3cret';
    const server = await smtp({ host: ip, auth: { user: 'mailer', pass: secret } });
    const { spool, lines, agent } = await agentFor(server.port, `smtpserver = ${ip}:${server.port}\nuser = mailer\npassword = ${secret}\nretry_delays = 10m`);
    const id = await new Composer(spool, 'Plain', 'a@example.com', 'b@example.com').addText('x').send();
    await until(() => lines.some((l) => l.includes(`mail ${id} attempt 1/11`)), 5000, 'the attempt');
    assert.equal(server.messages.length, 0, 'logged in and sent without TLS');
    assert.ok(lines.some((l) => l.includes(`mail ${id} attempt 1/11`) && /STARTTLS|TLS/i.test(l) && l.includes('retry 1 in 600s')), lines.join('\n'));
    assert.equal(agent.status().delivered, 0);
  });

  test('SMTPS: with tls = verify the certificate is checked (a self-signed one fails and is retried); without a login the default does not', async () => {
    const server = await smtp({ secure: true });
    const strict = await agentFor(server.port, 'ssl = yes\ntls = verify\nretry_delays = 10s');
    const id = await new Composer(strict.spool, 'TLS', 'a@example.com', 'b@example.com').addText('x').send();
    await until(() => strict.lines.some((l) => l.includes(`mail ${id} attempt 1`)), 3000, 'the attempt');
    assert.ok(strict.lines.some((l) => l.includes(`mail ${id} attempt 1/11`) && /certificate/i.test(l) && l.includes('retry 1 in 10s')));
    await agents.pop()!.stop(100);
    fs.rmSync(path.join(root, 'spool'), { recursive: true });
    const relaxed = await agentFor(server.port, 'ssl = yes');
    await new Composer(relaxed.spool, 'TLS', 'a@example.com', 'b@example.com').addText('x').send();
    await server.waitFor(1);
  });

  test('a corrupt spool file is moved aside with a clear log line; the agent keeps delivering', async () => {
    const server = await smtp();
    const { spool, lines, agent } = await agentFor(server.port);
    fs.writeFileSync(path.join(root, 'spool', '0000000000a-0123456789ab.json'), '{"v":1, "id": trunc');
    fs.writeFileSync(path.join(root, 'spool', '.tmp-half-written'), '{"v":');
    agent.wake();
    await new Composer(spool, 'Fine', 'a@example.com', 'b@example.com').addText('x').send();
    await server.waitFor(1);
    await until(() => files('corrupt').length === 1 && files('active').length === 0, 2000, 'moved aside');
    assert.ok(lines.some((l) => /\[error\] smtpda: spool file 0000000000a-0123456789ab\.json is unreadable \(not JSON .*\); moved to .*corrupt/.test(l)));
    assert.deepEqual(files('spool'), ['.tmp-half-written'], 'a temp file is not an entry');
    assert.deepEqual(await spool.status(), { queued: 0, sending: 0, undeliverable: 0, corrupt: 1 });
  });
});
