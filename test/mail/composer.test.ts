import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Composer } from '../../src/mail/composer.js';
import { MailSpool } from '../../src/mail/spool.js';

let root: string;
let spool: MailSpool;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-compose-'));
  spool = new MailSpool({ root, maxMessageSize: 64 * 1024 });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const spooled = (): string[] => (fs.existsSync(path.join(root, 'spool')) ? fs.readdirSync(path.join(root, 'spool')) : []);
const email = (to: string | string[] = 'b@example.com', from = 'a@example.com'): Composer => new Composer(spool, 'Subject', from, to).addText('body');

async function rejects(p: Promise<unknown> | (() => unknown), code: string, message: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (err: Error & { code?: string }) => {
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('was.email composer: bad input is refused at send() and nothing is spooled', () => {
  test('malformed or missing addresses', async () => {
    await rejects(email('not an address').send(), 'SKT_MAIL_ADDRESS', /not a valid recipient address: "not an address"/);
    await rejects(email('b@example.com', 'me@').send(), 'SKT_MAIL_ADDRESS', /not a valid sender address/);
    await rejects(email('b@example.com', 'a@example.com, c@example.com').send(), 'SKT_MAIL_ADDRESS', /expected one sender address, got 2/);
    await rejects(email([]).send(), 'SKT_MAIL_ADDRESS', /no recipient address/);
    await rejects(email('b@example.com\r\nBcc: evil@example.com').send(), 'SKT_MAIL_ADDRESS', /line break/);
    assert.deepEqual(spooled(), []);
  });

  test('display names and lists are accepted; duplicates are sent once', async () => {
    const id = await email(['"Bob B." <b@example.com>', 'c@example.com, b@example.com']).send();
    const entry = JSON.parse(fs.readFileSync(path.join(root, 'spool', `${id}.json`), 'utf8'));
    assert.deepEqual(entry.recipients.map((r: { address: string }) => r.address), ['b@example.com', 'c@example.com']);
    assert.match(Buffer.from(entry.raw, 'latin1').toString(), /^To: "Bob B." <b@example.com>, c@example.com, b@example.com\r$/m);
  });

  test('Cc and Bcc set with setHeader are recipients; Bcc stays out of the message', async () => {
    const id = await email('b@example.com').setHeader('Cc', 'Carol <c@example.com>').setHeader('bcc', 'd@example.com').send();
    const entry = JSON.parse(fs.readFileSync(path.join(root, 'spool', `${id}.json`), 'utf8'));
    assert.deepEqual(entry.recipients.map((r: { address: string }) => r.address), ['b@example.com', 'c@example.com', 'd@example.com']);
    const raw = Buffer.from(entry.raw, 'latin1').toString();
    assert.match(raw, /^Cc: Carol <c@example.com>\r$/m);
    assert.doesNotMatch(raw, /^Bcc:/im);
    // Not anywhere else either; the random Message-ID (<hex…@example.com>) may end in "d" by chance.
    assert.doesNotMatch(raw.replace(/^Message-ID: .*$/m, ''), /d@example\.com/);
    await assert.rejects(email().setHeader('Cc', 'broken@').send(), { code: 'SKT_MAIL_ADDRESS' });
  });

  test('attachments: a missing file, a directory', async () => {
    await rejects(email().addAttachment(path.join(root, 'nope.pdf')).send(), 'SKT_MAIL_ATTACHMENT', /cannot attach .*nope\.pdf: no such file/);
    await rejects(email().addAttachment(root).send(), 'SKT_MAIL_ATTACHMENT', /not a regular file/);
    assert.deepEqual(spooled(), []);
  });

  test('an attachment is read at send(): deleting the file afterwards loses nothing', async () => {
    const file = path.join(root, 'upload.txt');
    fs.writeFileSync(file, 'kept');
    const id = await email().addAttachment(file).send();
    fs.rmSync(file);
    const raw = Buffer.from(JSON.parse(fs.readFileSync(path.join(root, 'spool', `${id}.json`), 'utf8')).raw, 'latin1').toString();
    assert.match(raw, /filename=upload\.txt/);
    assert.ok(raw.includes(Buffer.from('kept').toString('base64')));
  });

  test('too large, header injection, bad types, second send, bad setSmtp', async () => {
    const big = path.join(root, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(100 * 1024));
    await rejects(email().addAttachment(big).send(), 'SKT_MAIL_TOO_LARGE', /the attachment .*big\.bin is 102400 bytes; \[smtpda\] max_message_size is 65536/);
    const half = path.join(root, 'half.bin');
    fs.writeFileSync(half, Buffer.alloc(40 * 1024));
    // Each under the limit, over it together: refused before either is read.
    await rejects(email().addAttachment(half).addAttachment(half, 'again.bin').send(), 'SKT_MAIL_TOO_LARGE', /the 2 attachments are 81920 bytes together; \[smtpda\] max_message_size is 65536/);
    const medium = path.join(root, 'medium.bin');
    fs.writeFileSync(medium, Buffer.alloc(60 * 1024));
    // Under the limit as a file, over it once base64-encoded into the message.
    await rejects(email().addAttachment(medium).send(), 'SKT_MAIL_TOO_LARGE', /the message is \d+ bytes; \[smtpda\] max_message_size is 65536/);
    await rejects(() => email().setHeader('X-Test', 'a\r\nBcc: x@example.com'), 'SKT_MAIL_USAGE', /line break/);
    await rejects(() => email().setHeader('Bad Name', 'x'), 'SKT_MAIL_USAGE', /not a header name/);
    await rejects(() => email().setHeader('Subject', 'x'), 'SKT_MAIL_USAGE', /set by the composer/);
    await rejects(() => email().addText('x', 'image/png'), 'SKT_MAIL_USAGE', /text\/\* type/);
    await rejects(() => email().addText('x', 'text/plain', 'euc-kr'), 'SKT_MAIL_USAGE', /charset "euc-kr"/);
    await rejects(() => email().setSmtp('smtp example:25'), 'SKT_MAIL_USAGE', /host:port/);
    await rejects(new Composer(spool, 'a\nb', 'a@example.com', 'b@example.com').send(), 'SKT_MAIL_USAGE', /subject has a line break/);
    assert.deepEqual(spooled(), []);
    const once = email();
    await once.send();
    await rejects(once.send(), 'SKT_MAIL_USAGE', /already sent/);
    assert.equal(spooled().length, 1);
  });

  test('no [smtpda] section: send() refuses instead of queueing mail nobody will send', async () => {
    await rejects(new Composer(undefined, 's', 'a@example.com', 'b@example.com').send(), 'SKT_MAIL_DISABLED', /no \[smtpda\] section/);
  });

  test('a spool that cannot be written: SKT_MAIL_SPOOL, and the composer may try again', async () => {
    const blocked = new MailSpool({ root: path.join(root, 'file'), maxMessageSize: 1 << 20 });
    fs.writeFileSync(path.join(root, 'file'), 'not a directory');
    const c = new Composer(blocked, 's', 'a@example.com', 'b@example.com').addText('x');
    await rejects(c.send(), 'SKT_MAIL_SPOOL', /cannot write the mail spool/);
    fs.rmSync(path.join(root, 'file'));
    assert.match(await c.send(), /^[0-9a-z]{11}-/);
  });

  test('setSmtp credentials are stored in the 0600 entry for the agent, never the [smtpda] ones', async () => {
    const id = await email().setSmtp('mail.example.com:587', 'u', 'p4ss', false).send();
    const file = path.join(root, 'spool', `${id}.json`);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')).smtp, { host: 'mail.example.com', port: 587, ssl: false, user: 'u', password: 'p4ss' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(root, 'spool')).mode & 0o777, 0o700);
  });
});
