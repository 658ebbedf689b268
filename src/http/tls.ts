/**
 * Reads and checks the HTTPS certificate and key named by `[server]`, so a bad file or pass phrase
 * stops the start with an error naming the config key instead of an OpenSSL stack trace.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type https from 'node:https';
import tls from 'node:tls';
import type { HostGroup, SiteConfig } from '../config/types.js';
import { SkitaiError } from '../errors.js';
import { HostMap } from './hosts.js';

/** PEM material in the shape `https.createServer` takes. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  passphrase: string | undefined;
  /** The context for a client's SNI name, from the `@` lines with `certfile`; undefined: the default certificate. */
  sni?: SniLookup | undefined;
}

/** The context for a client's SNI name; undefined: the default certificate. */
export type SniLookup = (servername: string) => tls.SecureContext | undefined;

/** The host groups' certificates by SNI, as `https.createServer` options; a name of no group (or none) gets the default certificate. */
export function sniOption(sni: SniLookup | undefined): Pick<https.ServerOptions, 'SNICallback'> {
  if (!sni) return {};
  return { SNICallback: (servername, cb) => cb(null, sni(servername)) };
}

type TlsKey = 'certfile' | 'keyfile' | 'passphrase';
type Fail = (key: TlsKey, message: string, cause?: unknown, code?: 'SKT_CONFIG_TLS' | 'SKT_CONFIG_VALUE') => never;

/**
 * Load `certfile` and `keyfile` (or the key inside `certfile`) and prove they work together, and
 * the same for every `@` line with its own `certfile` (chosen by SNI). Every failure is a
 * SkitaiError placed at the responsible key or line; the pass phrase is never echoed.
 */
export function loadTls(config: SiteConfig): TlsMaterial {
  const s = config.server;
  const fail: Fail = (key, message, cause, code = 'SKT_CONFIG_TLS') => {
    const line = config.keyLines['server']?.[key];
    const place = { file: config.file || '<defaults>', section: 'server', key, ...(line !== undefined ? { line } : {}) };
    throw new SkitaiError(code, message, { place, cause });
  };
  if (!s.certfile) return fail('certfile', 'ssl = yes needs certfile', undefined, 'SKT_CONFIG_VALUE');
  const { cert, key } = loadPair(s.certfile, s.keyfile, s.passphrase, fail);
  const groups = config.hostGroups.filter((g) => g.certfile !== undefined);
  if (groups.length === 0) return { cert, key, passphrase: s.passphrase };
  const contexts = new HostMap<tls.SecureContext>();
  for (const group of groups) {
    const pair = loadPair(group.certfile!, group.keyfile, s.passphrase, groupFail(config, group));
    const context = tls.createSecureContext({ ...pair, passphrase: s.passphrase });
    for (const name of group.names) contexts.add(name, context);
  }
  return { cert, key, passphrase: s.passphrase, sni: (servername) => contexts.find(servername) };
}

/** Failures of a host group's pair are placed at its `@` line; `passphrase` is `[server]`'s. */
function groupFail(config: SiteConfig, group: HostGroup): Fail {
  return (key, message, cause, code = 'SKT_CONFIG_TLS') => {
    const place = { file: config.file || '<defaults>', section: 'routes:line', key: key === 'passphrase' ? '@ (uses [server] passphrase)' : `@ ${key}`, line: group.line };
    throw new SkitaiError(code, message, { place, cause });
  };
}

/** Read a certificate and its key (or the key inside the certificate file) and prove they work together. */
function loadPair(certfile: string, keyfile: string | undefined, passphrase: string | undefined, fail: Fail): { cert: Buffer; key: Buffer } {
  const s = { certfile, keyfile, passphrase };
  const keyKey: TlsKey = s.keyfile ? 'keyfile' : 'certfile';
  const cert = read(s.certfile, 'certfile', fail);
  const key = s.keyfile ? read(s.keyfile, 'keyfile', fail) : cert;
  const keyFile = s.keyfile ?? s.certfile;

  try {
    new crypto.X509Certificate(cert);
  } catch (err) {
    fail('certfile', `no PEM certificate in ${s.certfile}`, err);
  }
  try {
    crypto.createPrivateKey({ key, passphrase: s.passphrase });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A wrong passphrase does not always fail as BAD_DECRYPT: about 1 in 190 decrypts to bytes whose
    // padding checks out and then fail to decode (ERR_OSSL_UNSUPPORTED). An encrypted key that does
    // not load with a passphrase given is reported as a wrong passphrase whatever the code.
    if (code === 'ERR_OSSL_BAD_DECRYPT' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED' || isEncryptedPem(key)) {
      if (s.passphrase === undefined) fail('passphrase', `the private key in ${keyFile} is encrypted: set passphrase`, err);
      fail('passphrase', `cannot decrypt the private key in ${keyFile}: wrong passphrase`, err);
    }
    fail(keyKey, `no usable PEM private key in ${keyFile}${s.keyfile ? '' : ' (set keyfile when the key is in its own file)'}`, err);
  }
  try {
    tls.createSecureContext({ cert, key, passphrase: s.passphrase });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') fail(keyKey, `the private key in ${keyFile} does not belong to the certificate in ${s.certfile}`, err);
    fail(keyKey, `the certificate and key cannot be used together: ${(err as Error).message}`, err);
  }
  return { cert, key };
}

// A missing file is a config mistake like any other value error, hence SKT_CONFIG_VALUE.
function read(file: string, key: TlsKey, fail: Fail): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code})`;
    return fail(key, `${key} ${why}: ${file}`, err, 'SKT_CONFIG_VALUE');
  }
}

/** A PEM private key under a passphrase: PKCS#8 `ENCRYPTED PRIVATE KEY`, or a traditional key with `Proc-Type: 4,ENCRYPTED`. */
export function isEncryptedPem(pem: Buffer): boolean {
  const text = pem.toString('latin1');
  return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\nProc-Type: 4,ENCRYPTED/.test(text);
}
