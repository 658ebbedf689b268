/**
 * The working directory of a running site: the config file's folder, in every way of running
 * (single process, foreground primary, daemon, each worker), as the systemd unit already had it
 * (`WorkingDirectory=`). Without this a relative path in app code (`fs.readFile('data.json')`,
 * `fs.createReadStream(...)`) meant the folder `npm start` or `skitaid start` ran in.
 */
import type { SiteConfig } from '../config/types.js';

/**
 * chdir into the config file's folder, before any app module is imported. The embedded defaults
 * (no `-c`) have no file and leave the directory as it is.
 */
export function enterSiteDir(config: SiteConfig): void {
  if (config.file === '' || process.cwd() === config.dir) return;
  process.chdir(config.dir);
}
