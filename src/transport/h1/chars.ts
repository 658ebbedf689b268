/**
 * Byte classes of HTTP/1.1 (RFC 9110 §5.6.2, §5.5; RFC 9112 §4, §7.1) as lookup tables, for the
 * strict response parser.
 */

/** tchar: the bytes of a token (a header name). */
export const TOKEN = new Uint8Array(256);
/** field-vchar / SP / HTAB / obs-text: the bytes of a header value and a reason phrase. */
export const FIELD = new Uint8Array(256);
/** HEXDIG, mapped to its value + 1 (0 = not a hex digit). */
export const HEX = new Uint8Array(256);

for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))) TOKEN[c] = 1;
  // VCHAR 0x21-0x7E, obs-text 0x80-0xFF, SP, HTAB. Never CR, LF, NUL, DEL or another control.
  if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c === 0x20 || c === 0x09) FIELD[c] = 1;
}
for (let c = 48; c <= 57; c++) HEX[c] = c - 48 + 1;
for (let c = 65; c <= 70; c++) HEX[c] = c - 55 + 1;
for (let c = 97; c <= 102; c++) HEX[c] = c - 87 + 1;

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
