import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { parseSmtpdaOptions } from '../../src/mail/options.js';
import { mayRetry, retryDelay } from '../../src/mail/schedule.js';
import { checkSite, mailSummary } from '../../src/site.js';

const parse = (body: string) => parseSmtpdaOptions(parseConfigText(`[server]\nport = 0\n\n[smtpda]\n${body}`, '/etc/site.conf'));

function fails(body: string, code: string, message: RegExp): void {
  assert.throws(() => parse(body), (err: Error & { code?: string }) => {
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('[smtpda] options', () => {
  test('no section: no agent; an empty section: the defaults', () => {
    assert.equal(parseSmtpdaOptions(parseConfigText('[server]\nport = 0\n')), undefined);
    const o = parse('')!;
    assert.deepEqual(o.server, { host: '127.0.0.1', port: 25, user: undefined, password: undefined, ssl: false });
    assert.equal(o.enabled, true);
    assert.equal(o.maxRetry, 10);
    assert.equal(o.undeliversKeepMaxDays, 30);
    assert.equal(o.scanInterval, 3000);
    assert.equal(o.concurrency, 4);
  });

  test('values are read with their units', () => {
    const o = parse('smtpserver = mail.example.com:587\nuser = me\npassword = s3cret\nssl = yes\nmax_retry = 3\nretry_delays = 1s, 1m, 1h\nscan_interval = 500ms\nconcurrency = 8\nenabled = no')!;
    assert.deepEqual(o.server, { host: 'mail.example.com', port: 587, user: 'me', password: 's3cret', ssl: true });
    assert.deepEqual(o.retryDelays, [1000, 60_000, 3_600_000]);
    assert.deepEqual([o.maxRetry, o.scanInterval, o.concurrency, o.enabled], [3, 500, 8, false]);
  });

  test('errors name file, line, section and key', () => {
    fails('max_retry = lots', 'SKT_CONFIG_VALUE', /^\/etc\/site\.conf:line 5 \[smtpda\] max_retry: expected a whole number from 0 to 1000 \(got "lots"\)$/);
    fails('\nsmtpserver = mail example', 'SKT_CONFIG_VALUE', /line 6 \[smtpda\] smtpserver: expected host:port/);
    fails('smtpserver = h:70000', 'SKT_CONFIG_VALUE', /smtpserver: expected host:port/);
    fails('retry_delays = 4s, soon', 'SKT_CONFIG_VALUE', /retry_delays: expected a list of durations/);
    // A well-formed size out of range says the range (it said "a size in bytes, or with K, M, G" to "2G").
    fails('max_message_size = 2G', 'SKT_CONFIG_VALUE', /max_message_size: expected a size from 1KiB to 1GiB \(bytes, or with K, M, G: 512K, 5MB, 2GiB\) \(got "2G"\)$/);
    fails('maxretry = 3', 'SKT_CONFIG_UNKNOWN_KEY', /line 5 \[smtpda\] maxretry: unknown key "maxretry" in \[smtpda\]; did you mean "max_retry"\?/);
    fails('password = x', 'SKT_CONFIG_VALUE', /password is set without user/);
    fails('retry_base = 1h\nretry_max = 1m', 'SKT_CONFIG_VALUE', /retry_max must be at least retry_base/);
  });

  test('skitaid status shows a mail line only for a site with [smtpda]', () => {
    assert.equal(mailSummary(parseConfigText('[server]\nport = 0\nvar_path = /nonexistent-skitai\n')), undefined);
    assert.equal(mailSummary(parseConfigText('[server]\nport = 0\nvar_path = /nonexistent-skitai\n[smtpda]\n')), '  mail     0 queued, 0 sending, 0 undeliverable, 0 corrupt\n');
  });

  test('checkSite (skitaid --check) validates [smtpda] too', () => {
    assert.throws(() => checkSite(parseConfigText('[server]\nport = 0\n[smtpda]\nconcurrency = 0\n', 'x.conf')), /concurrency: expected a whole number from 1/);
  });
});

describe('retry schedule', () => {
  test("the default is Skitai's: 4 s, 16 s, 64 s … 16384 s, then 6 h", () => {
    const o = parse('')!;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((n) => retryDelay(n, o) / 1000), [4, 16, 64, 256, 1024, 4096, 16384, 21600, 21600, 21600]);
    assert.equal(retryDelay(0, o), 0);
  });

  test('base and cap, or an explicit list whose last value repeats', () => {
    const o = parse('retry_base = 1s\nretry_max = 10s')!;
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, o)), [1000, 4000, 10_000, 10_000]);
    const l = parse('retry_delays = 5s 30s')!;
    assert.deepEqual([1, 2, 3].map((n) => retryDelay(n, l)), [5000, 30_000, 30_000]);
  });

  test('max_retry counts retries after the first attempt', () => {
    const o = parse('max_retry = 2')!;
    assert.deepEqual([1, 2, 3].map((n) => mayRetry(n, o)), [true, true, false]);
    assert.equal(mayRetry(1, parse('max_retry = 0')!), false);
  });
});

test('docs/mail.md documents every [smtpda] key', async () => {
  const { SMTPDA_KEYS } = await import('../../src/mail/options.js');
  const fs = await import('node:fs');
  const doc = fs.readFileSync(new URL('../../docs/mail.md', import.meta.url), 'utf8');
  for (const k of SMTPDA_KEYS) assert.match(doc, new RegExp(`\\| \`${k.key}\` \\|`), `${k.key} missing from docs/mail.md`);
});
