import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MailAgent } from '../../src/mail/agent.js';
import { Composer } from '../../src/mail/composer.js';
import { MailSpool } from '../../src/mail/spool.js';
import { memoryLogger, smtpdaOptions, TestSmtp, until } from '../support/smtp.js';

let root: string;
const servers: TestSmtp[] = [];
const agents: MailAgent[] = [];
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-crash-'));
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop(100)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

const files = (dir: string): string[] => (fs.existsSync(path.join(root, dir)) ? fs.readdirSync(path.join(root, dir)) : []);
const never = new Promise<undefined>(() => undefined);

function agent(port: number, extra = ''): { agent: MailAgent; lines: string[] } {
  const { logger, lines } = memoryLogger();
  const a = new MailAgent({ root, options: smtpdaOptions(port, extra), logger });
  agents.push(a);
  return { agent: a, lines };
}

async function queue(n: number): Promise<string[]> {
  const spool = new MailSpool({ root, maxMessageSize: 1 << 20 });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await new Composer(spool, `msg ${i}`, 'a@example.com', 'b@example.com').addText(`body ${i}`).send());
  return ids;
}

describe('smtpda crash safety', () => {
  test('an agent killed mid-send loses nothing; the next agent sends the message exactly once', async () => {
    let first = true;
    const server = await TestSmtp.start({ data: () => (first ? ((first = false), never) : undefined) });
    servers.push(server);
    const [id] = await queue(1);
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../support/mail-agent-child.ts'), root, String(server.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await until(() => !first, 15_000, 'the child to reach DATA');
      assert.deepEqual(files('active'), [`${id}~${child.pid}-${/-([0-9a-f]+)\.json$/.exec(files('active')[0]!)![1]}.json`]);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    assert.match(out, /attempt|agent started/);
    assert.equal(server.messages.length, 0, 'the relay never confirmed the held message');
    const { agent: next, lines } = agent(server.port);
    await next.start();
    const got = await server.waitFor(1);
    assert.ok(lines.some((l) => l.includes(`mail ${id} was being sent by a stopped agent (pid ${child.pid}); back in the spool`)));
    // Nothing left to send and nothing being sent: the count below is final.
    await until(() => next.status().inFlight === 0 && files('spool').length + files('active').length === 0, 5000, 'the agent idle with an empty spool');
    assert.equal(got.length, 1, 'sent once');
    assert.deepEqual([files('spool'), files('active')], [[], []]);
  });

  test('a claim from before the last boot is taken back even when its pid now belongs to a live process', async () => {
    const server = await TestSmtp.start();
    servers.push(server);
    const [old, recent] = await queue(2);
    // process.ppid (the test runner) is alive and is not this process: a reused pid.
    const claim = (id: string): string => path.join(root, 'active', `${id}~${process.ppid}-0badc0de.json`);
    fs.mkdirSync(path.join(root, 'active'), { recursive: true });
    for (const id of [old!, recent!]) fs.renameSync(path.join(root, 'spool', `${id}.json`), claim(id));
    const beforeBoot = new Date(Date.now() - os.uptime() * 1000 - 3_600_000);
    fs.utimesSync(claim(old!), beforeBoot, beforeBoot);
    const { agent: a, lines } = agent(server.port);
    await a.start();
    await until(() => a.status().delivered === 1, 5000, 'the old claim delivered');
    assert.match(server.messages[0]!.raw.toString(), /^Subject: msg 0\r$/m);
    assert.ok(lines.some((l) => l.includes(`mail ${old} was being sent by a stopped agent`)));
    // A claim made since the boot by a live pid is that process's: left alone.
    assert.deepEqual(files('active'), [path.basename(claim(recent!))]);
  });

  test('two agents on one spool never send the same message twice', async () => {
    const server = await TestSmtp.start();
    servers.push(server);
    await queue(30);
    const a = agent(server.port, 'concurrency = 3').agent;
    const b = agent(server.port, 'concurrency = 3').agent;
    await Promise.all([a.start(), b.start()]);
    await server.waitFor(30, 10_000);
    // Nothing left to send and nothing being sent: the count below is final.
    await until(() => a.status().inFlight + b.status().inFlight === 0 && files('spool').length + files('active').length === 0, 5000, 'both agents idle with an empty spool');
    const subjects = server.messages.map((m) => /^Subject: (.*)\r$/m.exec(m.raw.toString())![1]);
    assert.equal(subjects.length, 30);
    assert.equal(new Set(subjects).size, 30);
    assert.ok(a.status().delivered > 0 && b.status().delivered > 0, `both worked: ${a.status().delivered} + ${b.status().delivered}`);
  });

  test('stop() during a send puts the entry back unchanged (the attempt does not count)', async () => {
    let held = false;
    const server = await TestSmtp.start({ data: () => ((held = true), never) });
    servers.push(server);
    const [id] = await queue(1);
    const { agent: a, lines } = agent(server.port);
    await a.start();
    await until(() => held, 3000, 'held at DATA');
    await a.stop(50);
    assert.deepEqual(files('spool'), [`${id}.json`]);
    assert.deepEqual(files('active'), []);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root, 'spool', `${id}.json`), 'utf8')).attempts, 0);
    assert.ok(lines.some((l) => l.includes(`mail ${id}: attempt cut short by shutdown`)));
  });

  test('cleanup deletes undeliverable entries older than undelivers_keep_max_days (and only those)', async () => {
    const server = await TestSmtp.start();
    servers.push(server);
    fs.mkdirSync(path.join(root, 'undeliver'), { recursive: true });
    fs.mkdirSync(path.join(root, 'spool'), { recursive: true });
    const old = path.join(root, 'undeliver', 'old.json');
    const recent = path.join(root, 'undeliver', 'recent.json');
    const staleTemp = path.join(root, 'spool', '.tmp-crashed');
    for (const f of [old, recent, staleTemp]) fs.writeFileSync(f, '{}');
    const daysAgo = (d: number): Date => new Date(Date.now() - d * 86_400_000);
    fs.utimesSync(old, daysAgo(3), daysAgo(3));
    fs.utimesSync(recent, daysAgo(1), daysAgo(1));
    fs.utimesSync(staleTemp, daysAgo(1), daysAgo(1));
    const keep0 = agent(server.port, 'undelivers_keep_max_days = 0').agent;
    await keep0.start();
    await keep0.stop();
    assert.deepEqual(files('undeliver').sort(), ['old.json', 'recent.json'], '0 keeps forever');
    const { agent: a, lines } = agent(server.port, 'undelivers_keep_max_days = 2');
    await a.start();
    assert.deepEqual(files('undeliver'), ['recent.json']);
    assert.deepEqual(files('spool'), [], 'a temp file left by a crash is removed');
    assert.ok(lines.some((l) => /deleted .*old\.json \(older than 2 days\)/.test(l)));
    await a.stop();
    // A corrupt entry is kept for a human for the keep time from when it was moved aside, however old the file.
    const corrupt = path.join(root, 'spool', '000mww3axg3-9696882bbb61.json');
    fs.writeFileSync(corrupt, '{"v":1, trunc');
    fs.utimesSync(corrupt, daysAgo(5), daysAgo(5));
    const b = agent(server.port, 'undelivers_keep_max_days = 2').agent;
    await b.start();
    await until(() => files('corrupt').length === 1, 3000, 'moved aside');
    await b.stop();
    const c = agent(server.port, 'undelivers_keep_max_days = 2').agent;
    await c.start(); // cleans up at start
    assert.equal(files('corrupt').length, 1, 'deleted at the next cleanup');
  });
});
