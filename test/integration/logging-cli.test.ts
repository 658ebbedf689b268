import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { BIN, freePort, tempSite } from '../support/cli.js';
import { until } from '../support/until.js';

// skitaid in the foreground with stdout and stderr kept apart (pipes, so not a TTY): what a
// service manager or a container runtime collects.
const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/hello', (was) => {
  was.log.info('said hello');
  return 'Hello';
});
`;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  stderr: string;
  id: string;
}

/** skitaid in the foreground on a fresh site with `serverKeys`, its output collected. */
async function start(serverKeys: string): Promise<{ port: number; child: ChildProcess; out: { stdout: string; stderr: string }; exited: Promise<number | null> }> {
  const port = await freePort();
  const { dir, conf } = tempSite(`[server]\nip = 127.0.0.1\n${serverKeys}\n[routes:line]\n/ = ./app\n`, { 'app.ts': APP });
  dirs.push(dir);
  const child = spawn(process.execPath, [BIN, '-c', conf, '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { port, child, out, exited };
}

/** Start the site, make one request, stop it with SIGTERM; what it printed. */
async function runOnce(serverKeys: string, accessLine = true): Promise<Run> {
  const { port, child, out, exited } = await start(serverKeys);
  try {
    let id = '';
    await until(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/hello`);
        await res.text();
        id = res.headers.get('x-request-id') ?? '';
        return res.ok;
      } catch {
        return false;
      }
    }, 20_000, 'the site to answer');
    if (accessLine) await until(() => out.stdout.includes(id), 5000, 'the access line');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out.stdout + out.stderr);
    return { stdout: out.stdout, stderr: out.stderr, id };
  } finally {
    child.kill('SIGKILL');
  }
}

test('not on a terminal: JSON lines on stdout (server events, was.log, access), nothing on stderr', async () => {
  const r = await runOnce('');
  assert.equal(r.stderr, '');
  const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const msgs = records.map((x) => x.msg);
  assert.ok(msgs.some((m) => typeof m === 'string' && m.includes('listening on 127.0.0.1')), msgs.join('\n'));
  assert.ok(records.some((x) => x.msg === 'said hello' && x.reqId === r.id && x.level === 30));
  assert.ok(records.some((x) => x.msg === 'request' && x.reqId === r.id && x.url === '/hello' && x.status === 200));
  assert.ok(records.some((x) => x.msg === 'SIGTERM: stopping gracefully'));
  for (const x of records) assert.equal(typeof x.pid, 'number');
});

test("log_format = text: Skitai's classic lines; log_level = warn drops info", async () => {
  const text = await runOnce('log_format = text');
  assert.equal(text.stderr, '');
  assert.match(text.stdout, /^\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d \[info\] site listening on 127\.0\.0\.1:\d+/m);
  assert.match(text.stdout, new RegExp(`\\[info\\] said hello reqId=${text.id}$`, 'm'));
  assert.match(text.stdout, new RegExp(`\\[info\\] 127\\.0\\.0\\.1:\\d+ GET /hello HTTP/1\\.1 200 \\d+ [\\d.]+ms ${text.id}$`, 'm'));

  const quiet = await runOnce('log_format = json\nlog_level = warn\naccess_log = off', false);
  assert.equal(quiet.stdout, '');
  assert.equal(quiet.stderr, '');
});

test('SIGTERM right after a request still writes its line to the access log file (the 50 ms batch is flushed at stop)', async () => {
  const { id } = await runOnce('log_format = json\naccess_log = access.log\naccess_log_format = json', false);
  const dir = dirs[dirs.length - 1]!;
  const lines = fs.readFileSync(`${dir}/access.log`, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 1);
  assert.equal((JSON.parse(lines[0]!) as { reqId: string }).reqId, id);
});

test("two workers on one stdout pipe: every request's access line arrives whole, those written just before SIGTERM too", async () => {
  const { port, child, out, exited } = await start('processes = 2\nlog_format = json');
  const get = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${port}/hello`);
    await res.text();
    return res.headers.get('x-request-id') ?? '';
  };
  try {
    await until(async () => (await get().catch(() => '')) !== '', 20_000, 'the site to answer');
    // Both workers answering, many lines per turn (batches of several KiB: more than a pipe takes whole).
    const ids: string[] = [];
    for (let round = 0; round < 20; round++) ids.push(...(await Promise.all(Array.from({ length: 64 }, get))));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out.stderr);
    const records = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = new Set(records.filter((x) => x.msg === 'request').map((x) => x.reqId));
    for (const id of ids) assert.ok(logged.has(id), `no access line for ${id}`);
    assert.equal(new Set(records.filter((x) => x.msg === 'request').map((x) => x.pid)).size, 2, 'both workers answered');
  } finally {
    child.kill('SIGKILL');
  }
});
