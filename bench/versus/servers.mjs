// Config files and command lines for the servers bench/versus.mjs compares: Skitai, nginx, HAProxy
// and the Node peers in this directory. Each writer puts its files under `dir` (a temp dir).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(path.dirname(HERE));
const NODE = process.execPath;

/** The Skitai site: `[server]` as bench/site.conf (one process, no access log) plus `body`. */
export function skitai(dir, name, body) {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(file, `[server]\nip = 127.0.0.1\nprocesses = 1\naccess_log = off\n\n${body}\n`);
  return (port) => [NODE, path.join(ROOT, 'bin', 'skitaid.js'), '-c', file, '-p', port];
}

/**
 * nginx in the foreground with one worker (Debian's defaults otherwise: sendfile on, ETags, no
 * open_file_cache), no access log, and keep-alive connections never closed after N requests (Node
 * never closes them either). `server` is the body of its `server {}` block; `http` more of `http {}`.
 */
export function nginx(dir, name, { server, http = '' }) {
  const prefix = path.join(dir, name);
  fs.mkdirSync(prefix, { recursive: true });
  return (port) => {
    const conf = path.join(prefix, `nginx-${port}.conf`);
    const temp = (what) => `${what}_temp_path ${path.join(prefix, what)};`;
    fs.writeFileSync(conf, `daemon off;
master_process on;
worker_processes 1;
pid ${path.join(prefix, `nginx-${port}.pid`)};
error_log ${path.join(prefix, 'error.log')} warn;
${process.getuid?.() === 0 ? 'user root root;' : ''}
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  ${http}
  server {
    listen 127.0.0.1:${port};
    ${server}
  }
}
`);
    return ['nginx', '-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', conf];
  };
}

/** HAProxy in the foreground (`-db`), one thread, HTTP mode; `body` holds its frontend/backend. */
export function haproxy(dir, name, body) {
  return (port) => {
    const conf = path.join(dir, `${name}-${port}.cfg`);
    fs.writeFileSync(conf, `global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
${body.replaceAll('PORT', port)}
`);
    return ['haproxy', '-db', '-f', conf];
  };
}

/** A Node peer from this directory. */
export function peer(script, ...args) {
  return (port) => [NODE, path.join(HERE, script), ...args.map((a) => (a === 'PORT' ? port : String(a)))];
}
