/**
 * Describes what an unexpected RPC body looks like, for error messages: when an upstream answers
 * a call with an HTML error page or a proxy's text, the message should say so at a glance.
 */
export function describeBody(body: Buffer | Uint8Array | string, max = 80): string {
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, max * 4)).toString('utf8');
  const total = typeof body === 'string' ? body.length : body.byteLength;
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (total === 0 || trimmed === '') return total === 0 ? 'an empty body' : 'a body of only whitespace';
  let head = trimmed.slice(0, max).replace(/\s+/g, ' ');
  // Control characters would garble a log line; show them escaped.
  head = head.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const more = trimmed.length > max || (typeof body !== 'string' && body.byteLength > max * 4) ? '…' : '';
  return `${kindOf(trimmed)} starting ${JSON.stringify(head + more)}`;
}

function kindOf(text: string): string {
  if (/^<!doctype\s+html|^<html[\s>]|^<head[\s>]|^<body[\s>]/i.test(text)) return 'an HTML page';
  if (/^<\?xml|^</.test(text)) return 'an XML document';
  if (/^[[{]/.test(text)) return 'a JSON-like body';
  return 'a text body';
}
