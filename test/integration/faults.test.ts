// Errors app code leaves behind (issue 10): a promise nobody awaited, a throw from a timer. Real
// skitaid processes, real sockets, curl, and a real SMTP server for the seed's mail example.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { isAlive } from '../../src/process/pidfile.js';
import { foreground, freePort, killForeground, tempSite, type Foreground, getFresh } from '../support/cli.js';
import { TestSmtp } from '../support/smtp.js';

const run = promisify(execFile);
const ADMIN = 'Adm1n-faults-pw';

const WEBAPP = `
import { App } from 'skitai';
export const app = new App();
app.route('/pid', () => String(process.pid));
// A promise nobody awaits fails after the response went out.
app.route('/lost', () => {
  (async () => { await new Promise((r) => setTimeout(r, 20)); throw new Error('lost in the background'); })();
  return 'queued';
});
// An exception from a timer: nothing can catch it.
app.route('/boom', () => {
  setTimeout(() => { throw new Error('timer went boom'); }, 20);
  return 'scheduled';
});
app.route('/slow', async () => { await new Promise((r) => setTimeout(r, 1500)); return 'finally'; });
// The original Skitai README's example, ported literally: send() as a bare statement.
app.route('/mail3', (was) => {
  const e = was.email('Hello', 'site@example.com', 'reader@example.com');
  e.addText('see the picture');
  e.addAttachment('missing.png');
  e.send();
  return 'sent';
});
`;


/** Wait until the server has `n` requests in flight besides the status request asking. */
async function inFlight(base: string, n: number): Promise<void> {
  const auth = { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` };
  for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
    const st = (await (await fetch(`${base}/server-status?format=json`, { headers: auth })).json()) as { summary: { http: { inFlight: number } } };
    if (st.summary.http.inFlight === n + 1) return;
  }
  throw new Error(`never ${n} requests in flight`);
}

async function faultCounts(base: string): Promise<{ unhandledRejections: number; uncaughtExceptions: number }> {
  const r = await fetch(`${base}/server-status?format=json`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { summary: { faults: { unhandledRejections: number; uncaughtExceptions: number } } }).summary.faults;
}

describe('a stray error in app code', () => {
  let smtp: TestSmtp;
  let site: { dir: string; conf: string };
  let fg: Foreground | undefined;
  before(async () => {
    smtp = await TestSmtp.start();
    site = tempSite(
      `[server]\nip = 127.0.0.1\nport = 0\nlog_format = text\ngrace_period = 5\nadmin_password = ${ADMIN}\nstatus_path = /server-status\n` +
        `[routes:line]\n/ = ./webapp\n[smtpda]\nsmtpserver = 127.0.0.1:${smtp.port}\nscan_interval = 100ms\n`,
      { 'webapp.ts': WEBAPP },
    );
  });
  after(async () => {
    killForeground(fg);
    await smtp.stop();
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('an unawaited rejected promise is logged with its request and counted; the server keeps serving', async () => {
    fg = foreground(['-c', site.conf]);
    const [, port] = await fg.until(/listening on 127\.0\.0\.1:(\d+)/);
    const base = `http://127.0.0.1:${port}`;
    const r = await getFresh(`${base}/lost?token=s3cr3t-in-query`);
    assert.deepEqual(r, { status: 200, body: 'queued' });
    // Requests are tracked from a process's first fault on (tracking costs CPU on every request).
    await fg.until(/unhandled promise rejection in an unknown request \([^\n]*; from now on this process names the request of each fault\): lost in the background\nError: lost in the background\n\s+at /);
    const second = await fetch(`${base}/lost?token=s3cr3t-in-query`);
    assert.equal(second.status, 200);
    await second.text();
    // The record carries the request's id as a field, as every record about a request does.
    const id = second.headers.get('x-request-id')!;
    const [line] = await fg.until(new RegExp(`unhandled promise rejection in GET /lost from 127\\.0\\.0\\.1 [^\\n]*: lost in the background reqId=${id}\\nError: lost in the background\\n\\s+at `));
    assert.doesNotMatch(line, /s3cr3t-in-query/, 'the query string may hold secrets');
    assert.equal((await getFresh(`${base}/pid`)).body, String(fg.child.pid), 'the same process answers');
    assert.deepEqual(await faultCounts(base), { unhandledRejections: 2, uncaughtExceptions: 0 });
  });

  test("the seed's bare e.send() with a missing attachment: curl gets 200 and the server lives", async () => {
    const port = fg!.output().match(/listening on 127\.0\.0\.1:(\d+)/)![1];
    const base = `http://127.0.0.1:${port}`;
    const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', `${base}/mail3`]);
    assert.equal(stdout, 'sent\n200');
    await fg!.until(/unhandled promise rejection in GET \/mail3 from 127\.0\.0\.1 [^\n]*: SKT_MAIL_ATTACHMENT: cannot attach \S*missing\.png[^\n]*\nSkitaiError: cannot attach \S*missing\.png[^\n]*\n\s+at /);
    // Later requests are served by the same process, which counted both rejections.
    const again = await run('curl', ['-s', '-w', '\n%{http_code}', `${base}/pid`]);
    assert.equal(again.stdout, `${fg!.child.pid}\n200`);
    assert.equal((await faultCounts(base)).unhandledRejections, 3);
    assert.equal(smtp.messages.length, 0, 'nothing half-built was delivered');
  });

  test('a single process with an uncaught exception finishes its in-flight requests, then exits 1', async () => {
    const port = fg!.output().match(/listening on 127\.0\.0\.1:(\d+)/)![1];
    const base = `http://127.0.0.1:${port}`;
    const pidFile = path.join(site.dir, 'var', 'site.pid');
    assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(fg!.child.pid));
    const slow = getFresh(`${base}/slow`);
    await inFlight(base, 1);
    assert.deepEqual(await getFresh(`${base}/boom`), { status: 200, body: 'scheduled' });
    await fg!.until(/uncaught exception in GET \/boom from 127\.0\.0\.1 \(stopping after the in-flight requests[^\n]*\nError: timer went boom/);
    assert.deepEqual(await slow, { status: 200, body: 'finally' });
    const { code } = await fg!.exited;
    assert.equal(code, 1, 'non-zero, so a supervisor restarts it');
    assert.match(fg!.output(), /stopped after an uncaught exception/);
    assert.ok(!fs.existsSync(pidFile), 'the pid file is removed');
  });

  test('a worker with an uncaught exception is replaced by the primary; its in-flight request finishes', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    fg = foreground(['-c', site.conf, '-p', String(port), '-w', '1']);
    await fg.until(/1 worker listening on port \d+/);
    const old = (await getFresh(`${base}/pid`)).body;
    const slow = getFresh(`${base}/slow`);
    await inFlight(base, 1);
    assert.deepEqual(await getFresh(`${base}/boom`), { status: 200, body: 'scheduled' });
    // The worker's first fault: its request is not known, the stack shows the code that threw.
    await fg.until(/uncaught exception in an unknown request \(stopping after the in-flight requests[^\n]*\nError: timer went boom\n\s+at Timeout\._onTimeout \(\S+webapp\.ts:\d+/);
    await fg.until(/worker 1 \(pid \d+\) had an uncaught exception: replacing it/);
    // Every request gets an answer during the hand-over: the new worker listens before the old one leaves.
    let fresh = old;
    for (const end = Date.now() + 30_000; fresh === old && Date.now() < end; ) {
      const r = await getFresh(`${base}/pid`);
      assert.equal(r.status, 200);
      fresh = r.body;
    }
    assert.notEqual(fresh, old, 'a new worker serves');
    assert.deepEqual(await slow, { status: 200, body: 'finally' });
    const oldPid = Number(old);
    for (let i = 0; i < 100 && isAlive(oldPid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!isAlive(oldPid), 'the faulty worker is gone');
    assert.ok(isAlive(fg.child.pid!), 'the primary serves on');
    assert.equal((await getFresh(`${base}/pid`)).body, fresh);
    fg.child.kill('SIGTERM');
    assert.equal((await fg.exited).code, 0);
  });
});
