// The Node static-file peers: bare node:http serving a directory. Usage: node node-static.mjs MODE PORT ROOT
//   memory: every file read once at start; a request is a map lookup and writeHead + end (the floor).
//   stream: per request fs.stat + fs.createReadStream piped to the response (what a minimal server does).
// Both answer If-None-Match with 304, with nginx-style ETags, so the 304 case compares like with like.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream';

const [mode, port, root] = process.argv.slice(2);
const TYPES = { '.css': 'text/css', '.html': 'text/html', '.jpg': 'image/jpeg', '.mp4': 'video/mp4' };
const etag = (st) => `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
const headersOf = (name, st) => ({
  'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream', 'content-length': st.size,
  'last-modified': st.mtime.toUTCString(), etag: etag(st), 'accept-ranges': 'bytes',
});

const files = new Map();
if (mode === 'memory') {
  for (const name of fs.readdirSync(root)) {
    const file = path.join(root, name);
    const st = fs.statSync(file);
    if (st.isFile()) files.set(`/${name}`, { data: fs.readFileSync(file), headers: headersOf(name, st) });
  }
}

const server = http.createServer((req, res) => {
  if (mode === 'memory') {
    const f = files.get(req.url);
    if (!f) return void res.writeHead(404, { 'content-length': 0 }).end();
    if (req.headers['if-none-match'] === f.headers.etag) return void res.writeHead(304, { etag: f.headers.etag }).end();
    return void res.writeHead(200, f.headers).end(f.data);
  }
  const file = path.join(root, path.normalize(decodeURIComponent(req.url)));
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return void res.writeHead(404, { 'content-length': 0 }).end();
    const headers = headersOf(file, st);
    if (req.headers['if-none-match'] === headers.etag) return void res.writeHead(304, { etag: headers.etag }).end();
    res.writeHead(200, headers);
    pipeline(fs.createReadStream(file), res, () => {});
  });
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
