// HTTPS through the real CLI, with certificates generated here by openssl.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { makeCert, type TestCert } from '../support/cert.js';
import { foreground, freePort, killForeground, skitaid, tempSite, type Foreground } from '../support/cli.js';

let site: { dir: string; conf: string };
let cert: TestCert;
let agent: Agent;
const running: Foreground[] = [];

before(() => {
  site = tempSite('', { 'webapp.ts': "import { App } from 'skitai';\nexport const app = new App();\napp.route('/hello', () => 'Hello TLS');\n" });
  cert = makeCert(path.join(site.dir, 'cert'));
  agent = new Agent({ connect: { ca: cert.ca } });
});
after(async () => {
  for (const fg of running) killForeground(fg);
  await agent.close();
  fs.rmSync(site.dir, { recursive: true, force: true });
});

function writeConf(server: string): string {
  fs.writeFileSync(site.conf, `[server]\nip = 127.0.0.1\nport = 0\nssl = yes\n${server}\n[routes:line]\n/ = ./webapp\n`);
  return site.conf;
}

/** Start in the foreground, return the HTTPS port it printed. */
async function serve(server: string, extra: string[] = []): Promise<{ fg: Foreground; port: number }> {
  const fg = foreground(['-c', writeConf(server), ...extra]);
  running.push(fg);
  const [, port] = await fg.until(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
  return { fg, port: Number(port) };
}

async function stop(fg: Foreground): Promise<void> {
  fg.child.kill('SIGTERM');
  assert.equal((await fg.exited).code, 0);
}

describe('HTTPS', () => {
  test('certfile and keyfile relative to the config file', async () => {
    const { fg, port } = await serve('certfile = cert/server.crt\nkeyfile = cert/server.key');
    const r = await fetch(`https://localhost:${port}/hello`, { dispatcher: agent });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'Hello TLS');
    await stop(fg);
  });

  test('a passphrase-protected key inside certfile, in a worker process', async () => {
    const { fg, port } = await serve(`certfile = cert/server.bundle.pem\npassphrase = ${cert.passphrase}`, ['-w', '1']);
    const r = await fetch(`https://127.0.0.1:${port}/ping`, { dispatcher: agent });
    assert.equal(await r.text(), 'pong');
    await stop(fg);
  });

  test('a wrong passphrase is a one-line start-up error naming the key, not the secret', async () => {
    writeConf('certfile = cert/server.crt\nkeyfile = cert/server.enc.key\npassphrase = not-the-one');
    const check = await skitaid(['--check', '-c', site.conf]);
    assert.equal(check.code, 1);
    assert.match(check.stderr, /SKT_CONFIG_TLS: .*site\.conf:line 7 \[server\] passphrase: cannot decrypt .*: wrong passphrase/);
    const run = await skitaid(['-c', site.conf]);
    assert.equal(run.code, 1);
    // The server log (JSON lines, stdout is a pipe here) has it; stderr is for crashes only.
    assert.match(run.stdout, /start-up failed: SKT_CONFIG_TLS: .*passphrase: cannot decrypt/);
    for (const out of [check.stderr, run.stdout + run.stderr]) {
      assert.doesNotMatch(out, /not-the-one/);
      assert.doesNotMatch(out, /(\n|\\n)\s+at /, 'no stack trace');
    }
  });

  test('a missing keyfile names keyfile', async () => {
    writeConf('certfile = cert/server.crt\nkeyfile = cert/missing.key');
    const r = await skitaid(['-c', site.conf]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SKT_CONFIG_VALUE: .*\[server\] keyfile: keyfile not found: .*missing\.key/);
  });

  test('redirect_http_port sends plain HTTP to HTTPS, keeping path and query', async () => {
    const redirect = await freePort();
    const { fg, port } = await serve(`certfile = cert/server.crt\nkeyfile = cert/server.key\nredirect_http_port = ${redirect}`);
    await fg.until(/redirecting http on port \d+ to https/);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: redirect, path: '/hello?x=1', headers: { host: `localhost:${redirect}` } }, resolve).on('error', reject),
    );
    res.resume();
    assert.equal(res.statusCode, 301);
    assert.equal(res.headers.location, `https://localhost:${port}/hello?x=1`);
    const followed = await fetch(res.headers.location!, { dispatcher: agent });
    assert.equal(await followed.text(), 'Hello TLS');
    await stop(fg);
  });
});
