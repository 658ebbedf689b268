// node's bare http2 server (TLS, ALPN h2 + http/1.1), the baseline of `npm run bench -- h2`:
// node bench/peers/h2-raw.mjs PORT CERT KEY STATIC_DIR
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';

const [port, cert, key, dir] = process.argv.slice(2);
const file = fs.readFileSync(path.join(dir, '1k.txt'));
const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), allowHTTP1: true }, (req, res) => {
  if (req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': 11 }).end('Hello World');
  } else if (req.url === '/1k.txt') {
    // A file read once, as the memory cache of the other two serves it.
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': file.length }).end(file);
  } else res.writeHead(404).end();
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
