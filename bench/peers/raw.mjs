// Baseline: bare node:http with the two benchmark routes. Usage: node raw.mjs PORT
import http from 'node:http';

const PONG = Buffer.from('pong');
const HELLO = Buffer.from('Hello World');
const port = Number(process.argv[2] ?? 0);

const server = http.createServer((req, res) => {
  if (req.url === '/ping') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': PONG.length }).end(PONG);
  } else if (req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': HELLO.length }).end(HELLO);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 10 }).end('not found\n');
  }
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
