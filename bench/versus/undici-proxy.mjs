// The minimal Node reverse proxy: node:http in front of one undici Pool, /p/x -> upstream /x.
// Usage: node undici-proxy.mjs PORT UPSTREAM_HOST:PORT
import http from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
const pool = new Pool(`http://${upstream}`, { connections: 128 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

const server = http.createServer(async (req, res) => {
  if (!req.url.startsWith('/p/')) return void res.writeHead(404, { 'content-length': 0 }).end();
  const headers = { 'x-forwarded-for': req.socket.remoteAddress, 'x-forwarded-proto': 'http', 'x-forwarded-host': req.headers.host };
  for (const name in req.headers) if (!HOP.has(name)) headers[name] ??= req.headers[name];
  try {
    const noBody = req.method === 'GET' || req.method === 'HEAD';
    const up = await pool.request({ path: req.url.slice(2), method: req.method, headers, body: noBody ? null : req });
    const out = {};
    for (const name in up.headers) if (!HOP.has(name)) out[name] = up.headers[name];
    res.writeHead(up.statusCode, out);
    pipeline(up.body, res, () => {});
  } catch {
    if (!res.headersSent) res.writeHead(502, { 'content-length': 0 }).end();
  }
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
