import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throw-away CA and a server certificate it signed, for 127.0.0.1 and localhost. */
export interface TestCerts {
  readonly dir: string;
  /** Path of the CA certificate (what a client trusts). */
  readonly caFile: string;
  readonly key: string;
  readonly cert: string;
  remove(): void;
}

/** Generate the CA and server certificate with the openssl command line (EC keys: fast); `san`: the names it is good for. */
export function makeTestCerts(san = 'IP:127.0.0.1,DNS:localhost'): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-certs-'));
  const p = (name: string): string => path.join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=Skitai Test CA');
  ssl('req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(p('ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf'));
  return {
    dir,
    caFile: p('ca.pem'),
    key: fs.readFileSync(p('server.key'), 'utf8'),
    cert: fs.readFileSync(p('server.pem'), 'utf8'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
