// Peer: jayson's JSON-RPC 2.0 HTTP server (devDependency) with add(a, b). Usage: node jayson.mjs PORT
import jayson from 'jayson';

const port = Number(process.argv[2] ?? 0);
const server = new jayson.Server({ add: ([a, b], callback) => callback(null, a + b) }).http();

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
