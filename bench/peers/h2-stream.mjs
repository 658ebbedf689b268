// node's bare http2 server on its core API (the session's 'stream' event, `stream.respond()` +
// `stream.end()`), without the compatibility layer h2-raw.mjs uses: the floor for any node:http2 server.
// node bench/peers/h2-stream.mjs PORT CERT KEY STATIC_DIR
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';

const [port, cert, key, dir] = process.argv.slice(2);
const file = fs.readFileSync(path.join(dir, '1k.txt'));
const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), allowHTTP1: true });
server.on('stream', (stream, headers) => {
  const p = headers[':path'];
  if (p === '/hello') {
    stream.respond({ ':status': 200, 'content-type': 'text/html; charset=utf-8', 'content-length': 11 });
    stream.end('Hello World');
  } else if (p === '/1k.txt') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': file.length });
    stream.end(file);
  } else {
    stream.respond({ ':status': 404 });
    stream.end();
  }
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
