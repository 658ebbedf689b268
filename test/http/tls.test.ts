import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { isSkitaiError, type ErrorCode } from '../../src/errors.js';
import { isEncryptedPem, loadTls } from '../../src/http/tls.js';
import { makeCert, type TestCert } from '../support/cert.js';

let dir: string;
let c: TestCert;
let other: TestCert;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-tls-'));
  c = makeCert(dir);
  other = makeCert(dir, 'other');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = (lines: string) => parseConfigText(`[server]\nssl = yes\n${lines}\n`, path.join(dir, 'site.conf'), dir);

function failure(code: ErrorCode, lines: string): Error {
  try {
    loadTls(config(lines));
  } catch (err) {
    assert.ok(isSkitaiError(err, code), `expected ${code}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('loadTls', () => {
  test('a host group\'s pair is checked at start and placed at its @ line', () => {
    const base = `certfile = ${c.cert}\nkeyfile = ${c.key}\n[routes:line]\n@ a.test`;
    const ok = loadTls(config(`${base} certfile=${other.cert} keyfile=${other.key}`));
    assert.equal(typeof ok.sni, 'function');
    assert.ok(ok.sni!('A.test'));
    assert.equal(ok.sni!('b.test'), undefined);
    const err = failure('SKT_CONFIG_TLS', `${base} certfile=${other.cert} keyfile=${c.key}`);
    assert.match(err.message, /site\.conf:line 6 \[routes:line\] @ keyfile: the private key in .*server\.key does not belong to the certificate in .*other\.crt/);
  });

  test('certificate and key files, relative to the config file', () => {
    const tls = loadTls(config(`certfile = ${path.basename(c.cert)}\nkeyfile = ${path.basename(c.key)}`));
    assert.deepEqual(tls.cert, fs.readFileSync(c.cert));
    assert.deepEqual(tls.key, fs.readFileSync(c.key));
  });

  test('an encrypted key with its passphrase, also inside certfile', () => {
    loadTls(config(`certfile = ${c.cert}\nkeyfile = ${c.encryptedKey}\npassphrase = ${c.passphrase}`));
    const tls = loadTls(config(`certfile = ${c.bundle}\npassphrase = ${c.passphrase}`));
    assert.equal(tls.passphrase, c.passphrase);
  });

  test('a wrong passphrase names the passphrase line and never echoes it', () => {
    const err = failure('SKT_CONFIG_TLS', `certfile = ${c.cert}\nkeyfile = ${c.encryptedKey}\npassphrase = hunter2-wrong`);
    assert.match(err.message, /line 5 \[server\] passphrase: cannot decrypt the private key in .*server\.enc\.key: wrong passphrase/);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  test('a wrong passphrase that decrypts to undecodable bytes (1 in ~190) is still a wrong passphrase', () => {
    // Found here for this run's key: a passphrase for which OpenSSL's padding check passes and decoding fails.
    const key = fs.readFileSync(c.encryptedKey);
    let odd: string | undefined;
    for (let i = 0; i < 20_000 && odd === undefined; i++) {
      try {
        crypto.createPrivateKey({ key, passphrase: `wrong-${i}` });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ERR_OSSL_BAD_DECRYPT') odd = `wrong-${i}`;
      }
    }
    assert.ok(odd, 'no passphrase with another failure than bad decrypt in 20000 tries');
    const err = failure('SKT_CONFIG_TLS', `certfile = ${c.cert}\nkeyfile = ${c.encryptedKey}\npassphrase = ${odd}`);
    assert.match(err.message, /line 5 \[server\] passphrase: cannot decrypt the private key in .*server\.enc\.key: wrong passphrase/);
  });

  test('isEncryptedPem: PKCS#8 encrypted and traditional Proc-Type keys; not a plain key', () => {
    assert.equal(isEncryptedPem(fs.readFileSync(c.encryptedKey)), true);
    assert.equal(isEncryptedPem(fs.readFileSync(c.bundle)), true);
    assert.equal(isEncryptedPem(Buffer.from('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n')), true);
    assert.equal(isEncryptedPem(fs.readFileSync(c.key)), false);
  });

  test('an encrypted key without a passphrase says to set one', () => {
    assert.match(failure('SKT_CONFIG_TLS', `certfile = ${c.bundle}`).message, /passphrase: the private key in .* is encrypted: set passphrase/);
  });

  test('a key that belongs to another certificate names keyfile', () => {
    assert.match(failure('SKT_CONFIG_TLS', `certfile = ${c.cert}\nkeyfile = ${other.key}`).message, /keyfile: the private key in .*other\.key does not belong to the certificate/);
  });

  test('a certfile without a key, or without a certificate', () => {
    assert.match(failure('SKT_CONFIG_TLS', `certfile = ${c.cert}`).message, /certfile: no usable PEM private key .*set keyfile/);
    assert.match(failure('SKT_CONFIG_TLS', `certfile = ${c.key}\nkeyfile = ${c.key}`).message, /certfile: no PEM certificate/);
  });

  test('a file removed after the config was read is a config error naming the key', () => {
    const gone = path.join(dir, 'gone.key');
    fs.copyFileSync(c.key, gone);
    const cfg = config(`certfile = ${c.cert}\nkeyfile = ${gone}`);
    fs.rmSync(gone);
    assert.throws(() => loadTls(cfg), (err: unknown) => isSkitaiError(err, 'SKT_CONFIG_VALUE') && /keyfile: keyfile not found/.test(err.message));
  });
});
