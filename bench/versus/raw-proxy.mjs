// NOT a usable proxy: node:http in front of hand-written HTTP/1.1 keep-alive connections to the
// member, for GETs whose answers carry a Content-Length (no chunked bodies, timeouts, connection
// cap, errors or backpressure). It measures what a member client of our own could save against
// undici: the floor of a node:http proxy. Opt-in target `raw-client`.
// Usage: node raw-proxy.mjs PORT UPSTREAM_HOST:PORT
import http from 'node:http';
import net from 'node:net';

const [port, upstream] = process.argv.slice(2);
const [upHost, upPort] = upstream.split(':');
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const idle = [];

class Member {
  constructor() {
    this.socket = net.connect(Number(upPort), upHost);
    this.socket.setNoDelay(true);
    this.socket.on('data', (data) => this.read(data));
    this.socket.on('error', () => this.res?.destroy());
    this.pending = null;
    this.res = null;
  }

  send(req, res) {
    this.res = res;
    let head = `${req.method} ${req.url.slice(2)} HTTP/1.1\r\nHost: ${upstream}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    head += `X-Forwarded-For: ${req.socket.remoteAddress}\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ${req.headers.host ?? ''}\r\n\r\n`;
    this.socket.write(head, 'latin1');
  }

  read(data) {
    const bytes = this.pending ? Buffer.concat([this.pending, data]) : data;
    const end = bytes.indexOf('\r\n\r\n');
    if (end < 0) return void (this.pending = bytes);
    const lines = bytes.toString('latin1', 0, end).split('\r\n');
    const list = [];
    let length = 0;
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      const name = lines[i].slice(0, colon);
      const value = lines[i].slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === 'content-length') length = Number(value);
      if (!HOP.has(lower)) list.push(name, value);
    }
    if (bytes.length < end + 4 + length) return void (this.pending = bytes);
    this.pending = null;
    const res = this.res;
    this.res = null;
    idle.push(this);
    res.writeHead(Number(lines[0].slice(9, 12)), list).end(bytes.subarray(end + 4, end + 4 + length));
  }
}

const server = http.createServer((req, res) => {
  if (!req.url.startsWith('/p/')) return void res.writeHead(404, { 'content-length': 0 }).end();
  (idle.pop() ?? new Member()).send(req, res);
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
