import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { Site } from '../../src/site.js';

/** A site started on 127.0.0.1 and an ephemeral port, with helpers to reach it. */
export interface TestSite {
  site: Site;
  port: number;
  base: string;
  dir: string;
  /** Lines the server logged (errors, access lines when access_log = console is replaced). */
  logLines: string[];
  close(): Promise<void>;
}

const INDEX = pathToFileURL(path.resolve(import.meta.dirname, '../../src/index.ts')).href;

/**
 * Write files into `dir`. App sources may import from 'skitai' as users do: the specifier is
 * pointed at this checkout's src/index.ts.
 */
export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = typeof content === 'string' && /\.[cm]?[jt]s$/.test(name) ? content.replaceAll(`from 'skitai'`, `from '${INDEX}'`) : content;
    fs.writeFileSync(file, text);
  }
}

/**
 * Write `files` into a fresh temp directory, parse `conf` as site.conf there, and start it.
 * `[server]` gets `ip = 127.0.0.1` and `port = 0` unless the text sets them. The server log is
 * collected in `logLines`, as text unless `opts.logFormat` is `json`.
 */
export async function startSite(conf: string, files: Record<string, string | Buffer> = {}, opts: { logFormat?: 'json' | 'text' } = {}): Promise<TestSite> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-test-'));
  writeFiles(dir, { 'package.json': '{"type":"module"}', ...files });
  let text = conf;
  if (!/^\s*\[server\]/m.test(text)) text = `[server]\n${text}`;
  const extra = [/^\s*ip\s*[=:]/m.test(text) ? '' : 'ip = 127.0.0.1', /^\s*port\s*[=:]/m.test(text) ? '' : 'port = 0',
    /^\s*access_log\s*[=:]/m.test(text) ? '' : 'access_log = off'].filter(Boolean).join('\n');
  text = text.replace(/^\s*\[server\]\s*$/m, `[server]\n${extra}`);
  fs.writeFileSync(path.join(dir, 'site.conf'), text);
  const config = parseConfigText(text, path.join(dir, 'site.conf'), dir);
  const logLines: string[] = [];
  const logger = new Logger({ write: (l) => void logLines.push(l), reopen() {}, async close() {} }, { format: opts.logFormat ?? 'text', verbose: true });
  const site = new Site(config, { logger });
  const address = await site.listen();
  return {
    site,
    port: address.port,
    base: `http://127.0.0.1:${address.port}`,
    dir,
    logLines,
    async close() {
      await site.close(1000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

