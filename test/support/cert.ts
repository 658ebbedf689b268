import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Files of a self-signed test certificate for `localhost` and 127.0.0.1. */
export interface TestCert {
  /** The certificate (also the CA a client must trust). */
  cert: string;
  /** Its private key, unencrypted. */
  key: string;
  /** The same key encrypted with {@link TestCert.passphrase}. */
  encryptedKey: string;
  /** Certificate followed by the encrypted key, for `certfile` without `keyfile`. */
  bundle: string;
  passphrase: string;
  /** The certificate's PEM, for `Agent({ connect: { ca } })`. */
  ca: Buffer;
}

/**
 * Generate a fresh self-signed certificate in `dir` with openssl (.ci/run installs it), for `dns`
 * (the first is the common name) and 127.0.0.1.
 */
export function makeCert(dir: string, name = 'server', dns: readonly string[] = ['localhost']): TestCert {
  fs.mkdirSync(dir, { recursive: true });
  const file = (suffix: string): string => path.join(dir, `${name}${suffix}`);
  const passphrase = 'test pass phrase 7';
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('.key'), '-out', file('.crt'), '-days', '2',
    '-subj', `/CN=${dns[0]}`, '-addext', `subjectAltName=${dns.map((d) => `DNS:${d}`).join(',')},IP:127.0.0.1`]);
  openssl(['pkey', '-in', file('.key'), '-aes256', '-passout', `pass:${passphrase}`, '-out', file('.enc.key')]);
  fs.writeFileSync(file('.bundle.pem'), Buffer.concat([fs.readFileSync(file('.crt')), fs.readFileSync(file('.enc.key'))]));
  return {
    cert: file('.crt'),
    key: file('.key'),
    encryptedKey: file('.enc.key'),
    bundle: file('.bundle.pem'),
    passphrase,
    ca: fs.readFileSync(file('.crt')),
  };
}

/**
 * A self-signed certificate for `localhost` and 127.0.0.1 that expired in 2020 (`openssl ca` is the
 * one openssl 3.0 command that takes explicit dates). Returns the PEM texts.
 */
export function makeExpiredCert(dir: string): { key: string; cert: string } {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name: string): string => path.join(dir, name);
  fs.writeFileSync(file('index.txt'), '');
  fs.writeFileSync(file('serial'), '01\n');
  fs.writeFileSync(file('ca.cnf'), [
    '[ca]', 'default_ca = x', '[x]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial', 'default_md = sha256',
    'policy = p', 'copy_extensions = copy', 'unique_subject = no', '[p]', 'commonName = supplied', '',
  ].join('\n'));
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'expired.key', '-out', 'expired.csr',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'expired.key', '-in', 'expired.csr', '-out', 'expired.crt',
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  return { key: fs.readFileSync(file('expired.key'), 'utf8'), cert: fs.readFileSync(file('expired.crt'), 'utf8') };
}
