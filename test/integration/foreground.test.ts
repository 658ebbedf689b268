// A foreground `skitaid -c site.conf` (or `npm start`) writes the pid file and status record a
// daemon writes, so status, stop, reload and start see it; and it stops when its parent goes away.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../../src/process/pidfile.js';
import { BIN, foreground, freePort, killDaemon, killForeground, skitaid, tempSite, type Foreground } from '../support/cli.js';

const WEBAPP = `
import { App } from 'skitai';
export const app = new App();
app.route('/pid', () => String(process.pid));
`;

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!isAlive(pid)) return true;
  }
  return !isAlive(pid);
}

describe('skitaid status, stop, reload and start on a foreground run', () => {
  let site: { dir: string; conf: string };
  let port: number;
  let fg: Foreground;
  const runs: Foreground[] = [];
  const pidFile = (): string => path.join(site.dir, 'var', 'site.pid');
  before(async () => {
    port = await freePort();
    site = tempSite(`[server]\nip = 127.0.0.1\nport = ${port}\ngrace_period = 2\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP });
  });
  after(() => {
    for (const f of runs) killForeground(f);
    killDaemon(path.join(site.dir, 'var'));
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('a single process: status sees it, start and a second run refuse with its pid, reload says why not, stop stops it', async () => {
    fg = foreground(['-c', site.conf]);
    runs.push(fg);
    await fg.until(/listening on 127\.0\.0\.1:\d+/);
    const pid = fg.child.pid!;
    assert.equal(fs.readFileSync(pidFile(), 'utf8').trim(), String(pid));
    const st = await skitaid(['status', '-c', site.conf]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, new RegExp(`^site is running in the foreground\\n  pid      ${pid}\\n  workers  none: a single process serves.*\\n  port     ${port}\\n`));
    const started = await skitaid(['start', '-c', site.conf]);
    assert.equal(started.code, 1);
    assert.match(started.stderr, new RegExp(`site is already running \\(pid ${pid}\\)`));
    assert.doesNotMatch(started.stderr, /EADDRINUSE/);
    const second = foreground(['-c', site.conf]);
    assert.equal((await second.exited).code, 1);
    assert.match(second.output(), new RegExp(`site is already running \\(pid ${pid}\\)`));
    const reload = await skitaid(['reload', '-c', site.conf]);
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /runs as a single foreground process, which cannot reload without dropping requests; run it with -w 1/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/pid`).then((r) => r.text())), String(pid), 'still serving');
    const stopped = await skitaid(['stop', '-c', site.conf]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped site/);
    assert.equal((await fg.exited).code, 0);
    assert.ok(!fs.existsSync(pidFile()), 'the pid file is removed on exit');
    assert.equal((await skitaid(['status', '-c', site.conf])).code, 3);
  });

  test('a foreground primary (-w 2): status lists the workers, reload replaces them, stop stops it', async () => {
    fg = foreground(['-c', site.conf, '-w', '2']);
    runs.push(fg);
    await fg.until(/2 workers listening on port \d+/);
    const st = await skitaid(['status', '-c', site.conf]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`^site is running in the foreground\\n  pid      ${fg.child.pid}\\n  workers  2: \\d+, \\d+\\n`));
    const reload = await skitaid(['reload', '-c', site.conf]);
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /reloaded site: 2 workers replaced/);
    assert.equal((await skitaid(['start', '-c', site.conf])).code, 1);
    const stopped = await skitaid(['stop', '-c', site.conf]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await fg.exited).code, 0);
    assert.ok(!fs.existsSync(pidFile()));
  });
});

describe('a foreground skitaid whose parent goes away', () => {
  let site: { dir: string; conf: string };
  const children: number[] = [];
  before(() => {
    site = tempSite('[server]\nip = 127.0.0.1\nport = 0\ngrace_period = 2\n[routes:line]\n/ = ./webapp\n', {
      'webapp.ts': WEBAPP,
      'package.json': JSON.stringify({ type: 'module', scripts: { start: `"${process.execPath}" "${BIN}" -c site.conf` } }),
    });
  });
  after(() => {
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  // npm does not pass SIGTERM on to the script it runs; a shell waiting on a background job neither.
  const launchers: [string, string, string[]][] = [
    ['npm start', 'npm', ['start']],
    ['sh -c "skitaid & wait"', 'sh', ['-c', `"${process.execPath}" "${BIN}" -c site.conf & wait`]],
  ];
  for (const [name, cmd, args] of launchers) {
    test(`${name}, then SIGTERM to the parent: the server stops gracefully`, async () => {
      const parent = spawn(cmd, args, { cwd: site.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const seen = new Promise<number>((resolve, reject) => {
        const onData = (d: Buffer): void => {
          out += d.toString();
          const m = out.match(/listening on 127\.0\.0\.1:\d+ \(pid (\d+)\)/);
          if (m) resolve(Number(m[1]));
        };
        parent.stdout.on('data', onData);
        parent.stderr.on('data', onData);
        parent.on('exit', () => reject(new Error(`${name} exited first:\n${out}`)));
      });
      const server = await seen;
      children.push(server);
      parent.kill('SIGTERM');
      assert.ok(await gone(server, 10_000), `the server (pid ${server}) outlived its parent:\n${out}`);
      assert.match(out, /the parent process exited[^\n]*: stopping gracefully[\s\S]*\bstopped\b/);
      assert.ok(!fs.existsSync(path.join(site.dir, 'var', 'site.pid')));
    });
  }
});
