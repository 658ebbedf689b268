// The SQL benchmark's peer: node:http + pg.Pool, one `SELECT $1::int` per request.
// Usage: node pg-pool.mjs PORT PGPORT [MAX]
import http from 'node:http';
import pg from 'pg';

const [port, pgPort, max] = process.argv.slice(2).map(Number);
const pool = new pg.Pool({ host: '127.0.0.1', port: pgPort, user: 'skitai', database: 'postgres', max: max || 10 });

const server = http.createServer((req, res) => {
  if (req.url !== '/q') return res.writeHead(404).end();
  pool.query('SELECT $1::int AS n', [1]).then(
    (r) => {
      const body = String(r.rows[0].n);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    },
    (err) => res.writeHead(500).end(String(err.message)),
  );
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
});
