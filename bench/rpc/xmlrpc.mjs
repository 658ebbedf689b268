// Peer: the `xmlrpc` package's XML-RPC server (devDependency) with add(a, b). Usage: node xmlrpc.mjs PORT
import xmlrpc from 'xmlrpc';

const port = Number(process.argv[2] ?? 0);
const server = xmlrpc.createServer({ host: '127.0.0.1', port });

server.on('add', (err, [a, b], callback) => callback(null, a + b));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.httpServer.closeAllConnections();
});
