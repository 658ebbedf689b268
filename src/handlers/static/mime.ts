import { extname } from 'node:path';

/** The Content-Type for files whose extension is unknown: browsers will download, never sniff-and-run. */
export const DEFAULT_TYPE = 'application/octet-stream';

const UTF8 = '; charset=utf-8';

// Textual types carry a charset because browsers otherwise guess one (often windows-1252) and
// mangle UTF-8 files; binary types must not carry one.
const TEXT: Record<string, string> = {
  html: 'text/html', htm: 'text/html', shtml: 'text/html', xhtml: 'application/xhtml+xml',
  css: 'text/css', js: 'text/javascript', mjs: 'text/javascript', cjs: 'text/javascript',
  json: 'application/json', map: 'application/json', jsonld: 'application/ld+json',
  webmanifest: 'application/manifest+json', txt: 'text/plain', text: 'text/plain', log: 'text/plain',
  ini: 'text/plain', conf: 'text/plain', md: 'text/markdown', markdown: 'text/markdown',
  csv: 'text/csv', tsv: 'text/tab-separated-values', xml: 'application/xml', xsl: 'application/xml',
  rss: 'application/rss+xml', atom: 'application/atom+xml', svg: 'image/svg+xml',
  ics: 'text/calendar', vcf: 'text/vcard', vtt: 'text/vtt', srt: 'text/plain',
  yaml: 'text/yaml', yml: 'text/yaml', toml: 'text/plain',
};

const BINARY: Record<string, string> = {
  // images
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  avif: 'image/avif', ico: 'image/x-icon', bmp: 'image/bmp', tif: 'image/tiff', tiff: 'image/tiff',
  apng: 'image/apng', heic: 'image/heic',
  // fonts
  woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf', otf: 'font/otf', eot: 'application/vnd.ms-fontobject',
  // audio and video
  mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', wav: 'audio/wav', flac: 'audio/flac',
  m4a: 'audio/mp4', aac: 'audio/aac', opus: 'audio/opus', weba: 'audio/webm', mid: 'audio/midi',
  midi: 'audio/midi', mp4: 'video/mp4', m4v: 'video/mp4', webm: 'video/webm', ogv: 'video/ogg',
  mov: 'video/quicktime', avi: 'video/x-msvideo', mpeg: 'video/mpeg', mpg: 'video/mpeg',
  mkv: 'video/x-matroska', m3u8: 'application/vnd.apple.mpegurl',
  // documents and archives
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tgz: 'application/gzip',
  bz2: 'application/x-bzip2', xz: 'application/x-xz', zst: 'application/zstd', '7z': 'application/x-7z-compressed',
  tar: 'application/x-tar', rar: 'application/vnd.rar', jar: 'application/java-archive',
  epub: 'application/epub+zip', rtf: 'application/rtf', doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  // code and binaries
  wasm: 'application/wasm', bin: DEFAULT_TYPE, exe: DEFAULT_TYPE, dll: DEFAULT_TYPE, iso: DEFAULT_TYPE,
  dmg: DEFAULT_TYPE, deb: 'application/vnd.debian.binary-package', rpm: 'application/x-rpm',
  swf: 'application/x-shockwave-flash', apk: 'application/vnd.android.package-archive',
};

const TYPES = new Map<string, string>();
for (const [ext, type] of Object.entries(TEXT)) TYPES.set(ext, type + UTF8);
for (const [ext, type] of Object.entries(BINARY)) TYPES.set(ext, type);

/**
 * The Content-Type for a file name, by its extension (case-insensitive). Unknown or missing
 * extensions get {@link DEFAULT_TYPE}.
 */
export function contentType(fileName: string): string {
  const ext = extname(fileName);
  if (ext.length < 2) return DEFAULT_TYPE;
  return TYPES.get(ext.slice(1).toLowerCase()) ?? DEFAULT_TYPE;
}
