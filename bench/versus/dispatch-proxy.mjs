// The minimal Node reverse proxy on undici's dispatch(): node:http in front of one undici Pool, a
// handler object per request writing the member's chunks straight to the response (what Skitai's
// StreamExchange does, without clusters, health, failover or header rules). Opt-in target `dispatch`.
// Usage: node dispatch-proxy.mjs PORT UPSTREAM_HOST:PORT
import http from 'node:http';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
const pool = new Pool(`http://${upstream}`, { connections: 64 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

class Relay {
  constructor(res) {
    this.res = res;
  }
  onConnect() {}
  onHeaders(status, raw, resume) {
    const list = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1');
      if (!HOP.has(name.toLowerCase())) list.push(name, raw[i + 1].toString('latin1'));
    }
    this.res.writeHead(status, list);
    this.resume = resume;
    return true;
  }
  onData(chunk) {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume);
    return false;
  }
  onComplete() {
    this.res.end();
  }
  onError() {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502, { 'content-length': 0 }).end();
  }
}

const server = http.createServer((req, res) => {
  if (!req.url.startsWith('/p/')) return void res.writeHead(404, { 'content-length': 0 }).end();
  const headers = ['x-forwarded-for', req.socket.remoteAddress, 'x-forwarded-proto', 'http', 'x-forwarded-host', req.headers.host ?? ''];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
  const noBody = req.method === 'GET' || req.method === 'HEAD';
  pool.dispatch({ path: req.url.slice(2), method: req.method, headers, body: noBody ? null : req }, new Relay(res));
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
