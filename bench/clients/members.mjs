// Two cluster members for bench/clients.mjs in one process: node:http on 127.0.0.1, every path
// answers {"ok":1} as JSON. Usage: node members.mjs PORT1 PORT2
import http from 'node:http';

const BODY = Buffer.from('{"ok":1}');
const HEADERS = { 'content-type': 'application/json', 'content-length': BODY.length };
const servers = process.argv.slice(2, 4).map((port) => {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, HEADERS).end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), '127.0.0.1');
  return server;
});
process.on('SIGTERM', () => {
  for (const s of servers) s.closeAllConnections();
  Promise.all(servers.map((s) => new Promise((r) => s.close(r)))).then(() => process.exit(0));
});
