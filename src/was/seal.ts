import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signs and verifies small JSON documents for cookies: `base64url(json) "." base64url(HMAC-SHA256)`.
 * The MAC also covers a purpose string (the cookie name), so a value signed for one cookie is not
 * accepted as another. The document is only signed, not encrypted: the client can read it, so it
 * must not hold secrets. JSON only, never code: unsealing cannot run anything (unlike the pickled
 * cookies of the Python original).
 *
 * The keys are held in a private field and never appear in a message, a log line or `toJSON`.
 */
export class Seal {
  readonly #keys: readonly Buffer[];

  /** `keys[0]` signs; every key verifies, so an old key can be kept while clients move over. */
  constructor(keys: readonly string[]) {
    this.#keys = keys.map((k) => Buffer.from(k, 'utf8'));
  }

  /** Sign `doc` (any JSON value) for `purpose`. */
  seal(purpose: string, doc: unknown): string {
    const body = Buffer.from(JSON.stringify(doc), 'utf8').toString('base64url');
    return `${body}.${this.#mac(this.#keys[0]!, purpose, body).toString('base64url')}`;
  }

  /**
   * The document, or undefined when the token is malformed, longer than `maxLength`, signed with
   * another key or purpose, or not JSON. Never throws: a bad cookie is just no cookie.
   */
  unseal(purpose: string, token: string, maxLength = 8192): unknown {
    return this.open(purpose, token, maxLength)?.doc;
  }

  /** As {@link Seal.unseal}, also saying whether an older key signed it (so it should be re-signed). */
  open(purpose: string, token: string, maxLength = 8192): { doc: unknown; stale: boolean } | undefined {
    if (token.length > maxLength) return undefined;
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    const text = token.slice(dot + 1);
    const sig = Buffer.from(text, 'base64url');
    // Node's decoder skips characters outside the alphabet and ignores padding and the spare low
    // bits of the last character, so `sig!!`, `sig==` and three other endings would also verify:
    // only the one canonical spelling of a MAC is accepted. (Comparing the client's text with its
    // own re-encoding tells an attacker nothing about the key.)
    if (sig.toString('base64url') !== text) return undefined;
    let match = -1;
    for (let i = 0; i < this.#keys.length; i++) {
      const want = this.#mac(this.#keys[i]!, purpose, body);
      // timingSafeEqual needs equal lengths; a wrong length says nothing about the key.
      if (match < 0 && sig.length === want.length && timingSafeEqual(sig, want)) match = i;
    }
    if (match < 0) return undefined;
    try {
      return { doc: JSON.parse(Buffer.from(body, 'base64url').toString('utf8')), stale: match > 0 };
    } catch {
      return undefined;
    }
  }

  #mac(key: Buffer, purpose: string, body: string): Buffer {
    return createHmac('sha256', key).update(purpose).update('\0').update(body).digest();
  }

  toJSON(): string {
    return '[Seal]';
  }
}
