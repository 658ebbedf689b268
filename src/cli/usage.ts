import { readFileSync } from 'node:fs';

/** The package version, read once from package.json. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `skitaid --help`; docs/cli.md repeats it (a test keeps the two equal). */
export const USAGE = `Usage: skitaid [command] [options]

Without a command, runs the site in the foreground: one process, or a primary with
workers when [server] processes > 1 or -w is given. Ctrl-C stops it gracefully.

Commands:
  start             start in the background: pid file, log files, workers; returns
                    once they listen (exit 1 and the reason when they do not)
  stop              stop gracefully: in-flight requests get grace_period to finish;
                    a second stop, or --force, kills
  status            pid, workers, port, uptime; exit 0 running, 3 not running
  restart           stop (when running), then start
  reload            replace the workers one by one without dropping a request,
                    reading the config again; the old workers keep serving if it fails
  install-service   print a systemd unit running this site (--write installs it)

Options:
  -c, --config FILE   the site's config file (INI, Skitai dialect); without it the
                      embedded defaults are used (port 5000, nothing mounted but /ping)
  -t, --check         validate the config and import its apps (no startup hooks, no
                      listening), then exit: 0 when good, 1 naming file, line and key
  -p, --port N        listen on N instead of [server] port (0 = any free port)
  -w, --workers N     run N workers under a primary (instead of [server] processes)
  -f, --force         stop: kill the server and its workers at once
      --write         install-service: write the unit to /etc/systemd/system
      --unit-dir DIR  install-service --write: write it into DIR instead
      --user NAME     install-service: the user the service runs as (default skitai,
                      a system user it tells you how to create)
  -v, --verbose       print debug lines too; in the foreground, log to the console
                      even when log_path is set
  -V, --version       print the version
  -h, --help          print this help

Signals (to the pid in the pid file, or to the foreground process):
  TERM, INT   stop gracefully; a second one kills
  HUP         reload (zero-downtime with workers; a single process only logs it)
  USR1        reopen the log files (after logrotate moved them)

Files (defaults; [server] var_path, log_path and pid_file move them):
  var/<name>.pid           next to the config file; <name> is [server] name
  var/log/server.log       server events and errors (start, and foreground with log_path)
  var/log/request.log      one line per request, when access_log = console
  var/log/stderr.log       the daemon's own stdout and stderr
`;
