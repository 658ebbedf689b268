/**
 * `text` with every occurrence of `secret` (and its percent-encoded form) replaced by `***`: the
 * last guard before a message leaves the DB layer, whatever the driver put in it.
 */
export function maskSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  let out = text.split(secret).join('***');
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) out = out.split(encoded).join('***');
  return out;
}
