// STARTTLS against real smtp-server relays with certificates nobody can verify (self-signed, expired):
// mail without a login goes out over opportunistic TLS; a login waits for a certificate that verifies.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { parseConfigText } from '../../src/config/load.js';
import { MailAgent } from '../../src/mail/agent.js';
import { Composer } from '../../src/mail/composer.js';
import { parseSmtpdaOptions } from '../../src/mail/options.js';
import { MailSpool } from '../../src/mail/spool.js';
import { makeCert, makeExpiredCert, type TestCert } from '../support/cert.js';
import { memoryLogger, smtpdaOptions, TestSmtp, until } from '../support/smtp.js';

let certDir: string;
let selfSigned: TestCert;
let selfSignedPem: { key: string; cert: string };
let expired: { key: string; cert: string };
let root: string;
const servers: TestSmtp[] = [];
const agents: MailAgent[] = [];

before(() => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-smtp-certs-'));
  selfSigned = makeCert(certDir, 'relay');
  selfSignedPem = { key: fs.readFileSync(selfSigned.key, 'utf8'), cert: fs.readFileSync(selfSigned.cert, 'utf8') };
  expired = makeExpiredCert(path.join(certDir, 'expired'));
  fs.writeFileSync(path.join(certDir, 'expired.crt'), expired.cert);
});
after(() => fs.rmSync(certDir, { recursive: true, force: true }));
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-mail-tls-'));
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop(100)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

async function relay(pem: { key: string; cert: string }, auth?: { user: string; pass: string }): Promise<TestSmtp> {
  const s = await TestSmtp.start({ starttls: pem, ...(auth ? { auth } : {}) });
  servers.push(s);
  return s;
}

async function agentFor(port: number, extra = ''): Promise<{ spool: MailSpool; lines: string[] }> {
  const options = smtpdaOptions(port, extra);
  const { logger, lines } = memoryLogger();
  const agent = new MailAgent({ root, options, logger });
  const spool = new MailSpool({ root, maxMessageSize: options.maxMessageSize, onQueued: () => agent.wake() });
  agents.push(agent);
  await agent.start();
  return { spool, lines };
}

const send = (spool: MailSpool, subject = 'Hi'): Promise<string> => new Composer(spool, subject, 'site@example.com', 'reader@example.com').addText('Hello').send();

/** The seed's `[smtpda]`: `ssl = no`, an empty user and password. */
const SEED = 'ssl = no\nuser =\npassword =\nmax_retry = 10';

describe('STARTTLS without a login (the seed\'s [smtpda])', () => {
  for (const [name, pem] of [['a self-signed', () => selfSignedPem], ['an expired', () => expired]] as const) {
    test(`a relay offering STARTTLS with ${name} certificate gets the mail, encrypted`, async () => {
      const server = await relay(pem());
      const { spool, lines } = await agentFor(server.port, SEED);
      await send(spool, `via ${name}`);
      const [got] = await server.waitFor(1);
      assert.equal((await simpleParser(got!.raw)).subject, `via ${name}`);
      assert.equal(got!.secure, true, 'STARTTLS was used: unverified encryption beats none');
      assert.ok(!lines.some((l) => /certificate/i.test(l)), lines.join('\n'));
    });
  }

  test('tls = verify checks the certificate without a login too; tls = none sends in the clear', async () => {
    const server = await relay(selfSignedPem);
    const strict = await agentFor(server.port, `${SEED}\ntls = verify\nretry_delays = 10m`);
    const id = await send(strict.spool);
    await until(() => strict.lines.some((l) => l.includes(`mail ${id} attempt 1/11`)), 5000, 'the attempt');
    assert.ok(strict.lines.some((l) => l.includes(`mail ${id} attempt 1/11`) && /self[- ]signed certificate.*\(checked because of \[smtpda\] tls = verify .*give its CA in tls_ca, or use tls = may\)/i.test(l)), strict.lines.join('\n'));
    assert.equal(server.messages.length, 0);
    await agents.pop()!.stop(100);
    fs.rmSync(root, { recursive: true });
    fs.mkdirSync(root);
    const plain = await agentFor(server.port, `${SEED}\ntls = none`);
    await send(plain.spool);
    const [got] = await server.waitFor(1);
    assert.equal(got!.secure, false);
  });
});

describe('tls = encrypt', () => {
  test('requires STARTTLS (a relay without it keeps the mail) but, without a login, not a verified certificate', async () => {
    const plainRelay = await TestSmtp.start();
    servers.push(plainRelay);
    const refused = await agentFor(plainRelay.port, `${SEED}\ntls = encrypt\nretry_delays = 10m`);
    const id = await send(refused.spool);
    await until(() => refused.lines.some((l) => l.includes(`mail ${id} attempt 1/11`)), 5000, 'the attempt');
    assert.match(refused.lines.find((l) => l.includes(`mail ${id} attempt 1/11`))!, /STARTTLS.*retry 1 in 600s/);
    assert.equal(plainRelay.messages.length, 0);
    await agents.pop()!.stop(100);
    fs.rmSync(root, { recursive: true });
    fs.mkdirSync(root);
    const server = await relay(selfSignedPem);
    const ok = await agentFor(server.port, `${SEED}\ntls = encrypt`);
    await send(ok.spool);
    const [got] = await server.waitFor(1);
    assert.equal(got!.secure, true);
  });
});

describe('STARTTLS with a login', () => {
  const secret = 'L0gin-S3cret-42';
  const login = `user = mailer\npassword = ${secret}`;

  test('an unverifiable certificate keeps the mail (and the password) back: a clear error in the log and the entry', async () => {
    const server = await relay(selfSignedPem, { user: 'mailer', pass: secret });
    const { spool, lines } = await agentFor(server.port, `${login}\nretry_delays = 10m`);
    const id = await send(spool);
    await until(async () => (await spool.lookup(id)).state === 'queued' && lines.some((l) => l.includes(`mail ${id} attempt 1/11`)), 5000, 'the failed attempt');
    assert.equal(server.messages.length, 0);
    const line = lines.find((l) => l.includes(`mail ${id} attempt 1/11`))!;
    assert.match(line, /self[- ]signed certificate/i);
    assert.match(line, /a login is only sent to a relay whose certificate verifies: give its CA in \[smtpda\] tls_ca/);
    assert.match(line, /retry 1 in 600s/);
    const state = (await spool.lookup(id)) as { state: string; lastError?: string };
    assert.match(String(state.lastError), /self[- ]signed certificate.*tls_ca/i);
    assert.ok(!lines.some((l) => l.includes(secret)), 'the password is in no log line');
  });

  test('an expired certificate is refused for a login even with its CA given', async () => {
    const server = await relay(expired, { user: 'mailer', pass: secret });
    const { spool, lines } = await agentFor(server.port, `${login}\ntls_ca = ${path.join(certDir, 'expired.crt')}\nretry_delays = 10m`);
    const id = await send(spool);
    await until(() => lines.some((l) => l.includes(`mail ${id} attempt 1/11`)), 5000, 'the attempt');
    assert.match(lines.find((l) => l.includes(`mail ${id} attempt 1/11`))!, /certificate has expired.*\(an expired certificate never verifies: the relay needs a new one\)/);
    assert.equal(server.messages.length, 0);
  });

  test('with the relay\'s certificate as tls_ca it verifies, logs in and delivers', async () => {
    const server = await relay(selfSignedPem, { user: 'mailer', pass: secret });
    const { spool } = await agentFor(server.port, `${login}\ntls_ca = ${selfSigned.cert}`);
    await send(spool, 'verified');
    const [got] = await server.waitFor(1);
    assert.deepEqual([got!.user, got!.secure, got!.to], ['mailer', true, ['reader@example.com']]);
  });

  test('the older tls_verify = no still turns checking off, login included', async () => {
    const server = await relay(selfSignedPem, { user: 'mailer', pass: secret });
    const { spool } = await agentFor(server.port, `${login}\ntls_verify = no`);
    await send(spool);
    const [got] = await server.waitFor(1);
    assert.equal(got!.user, 'mailer');
  });
});

describe('[smtpda] tls keys', () => {
  const parse = (body: string) => parseSmtpdaOptions(parseConfigText(`[server]\nport = 0\n[smtpda]\n${body}`, path.join(certDir, 'site.conf'), certDir))!;
  const fails = (body: string, message: RegExp): void =>
    assert.throws(() => parse(body), (err: Error & { code?: string }) => err.code === 'SKT_CONFIG_VALUE' && message.test(err.message) && !err.message.includes('s3cr3t'));

  test('defaults, modes and the older key', () => {
    assert.deepEqual(parse('').tls, { mode: 'may', verify: 'login', ca: undefined });
    assert.deepEqual(parse('tls = verify').tls, { mode: 'verify', verify: 'always', ca: undefined });
    assert.deepEqual(parse('tls = Encrypt').tls, { mode: 'encrypt', verify: 'login', ca: undefined });
    assert.equal(parse('tls_verify = no').tls.verify, 'never');
    assert.equal(parse('tls_verify = yes').tls.verify, 'always');
    // Relative to the config file's folder.
    assert.equal(parse('tls_ca = relay.crt').tls.ca, selfSignedPem.cert);
  });

  test('mistakes are config errors naming the key', () => {
    fails('tls = maybe', /\[smtpda\] tls: expected one of none, may, encrypt, verify \(got "maybe"\)/);
    fails('tls = may\ntls_verify = no', /\[smtpda\] tls_verify: tls_verify is the older form of tls: set only tls/);
    fails('smtpserver = mail.example.com:587\nuser = me\npassword = s3cr3t\ntls = none', /\[smtpda\] tls: tls = none would send the login of user me in the clear to mail\.example\.com/);
    fails('tls_ca = missing.pem', /\[smtpda\] tls_ca: cannot read .*missing\.pem: no such file/);
    fails('tls_ca = relay.key', /relay\.key holds no PEM certificate/);
    assert.equal(parse('user = me\npassword = s3cr3t\ntls = none').tls.mode, 'none', 'a login to a relay on this machine may go without TLS');
  });
});
