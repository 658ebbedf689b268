// The same Express app on bare node:http (the baseline). Usage: node bench/mount/bare.mjs PORT
import http from 'node:http';
import { app } from './express-app.mjs';

const server = http.createServer(app).listen(Number(process.argv[2] ?? 0), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
