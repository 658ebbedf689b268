// `node bench/clients.mjs --profile lb`: runs one mode of the clients benchmark again in a child
// under `node --cpu-prof` (pinned, members on the other core) and prints where its CPU goes per
// call, src/ frames mapped to the TypeScript. The .cpuprofile stays in bench/results/profile/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { analyse, mainProfile, print } from '../cpuprofile.mjs';

const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export async function profileMode(opt) {
  const mode = opt.profile;
  const dir = path.join(BENCH, 'results', 'profile', `clients-${mode}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const maps = path.join(dir, 'sourcemaps.json');
  const windowFile = path.join(dir, 'window.json');
  const args = [
    '--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', '--import', pathToFileURL(path.join(BENCH, 'profile-hook.mjs')).href,
    path.join(BENCH, 'clients.mjs'), '--modes', mode, '--profile-out', windowFile,
    '--duration', opt.quick ? '2' : opt.duration, '--warmup', opt.quick ? '1' : opt.warmup, '--concurrency', opt.concurrency,
    ...(opt['no-pin'] ? ['--no-pin'] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, SKITAI_BENCH_MAPS: maps } });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the profiled run exited ${code}`);
  const window = JSON.parse(fs.readFileSync(windowFile, 'utf8'));
  console.log(`${mode}: ${window.cps.toFixed(0)} calls/s under the profiler`);
  print(analyse(mainProfile(dir), maps, window, { callers: opt.callers }), { top: 25, unit: 'call', callers: opt.callers });
}
