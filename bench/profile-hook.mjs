// Preloaded (--import) into the Skitai process by profile.mjs. On exit it saves the source maps of
// the TypeScript modules tsx loaded, so the .cpuprofile's positions (in tsx's generated JS) can be
// mapped back to file:line in src/. Needs SKITAI_BENCH_MAPS = the JSON file to write.
import fs from 'node:fs';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = process.env.SKITAI_BENCH_MAPS;

function tsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

if (out) {
  process.setSourceMapsEnabled(true);
  process.on('exit', () => {
    const maps = {};
    for (const file of [...tsFiles(path.join(ROOT, 'src')), ...tsFiles(path.join(ROOT, 'bench'))]) {
      const url = pathToFileURL(file).href;
      const sm = findSourceMap(url) ?? findSourceMap(file);
      if (sm) maps[url] = sm.payload;
    }
    fs.writeFileSync(out, JSON.stringify(maps));
  });
}
