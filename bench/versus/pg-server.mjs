// The SQL peer: node:http + one pg.Pool, GET /sql runs `SELECT $1::int AS n` and answers the rows as JSON.
// Usage: node pg-server.mjs PORT PGPORT POOL_SIZE
import http from 'node:http';
import pg from 'pg';

const [port, pgPort, max] = process.argv.slice(2).map(Number);
const pool = new pg.Pool({ host: '127.0.0.1', port: pgPort, user: 'trustuser', database: 'skitai', max });

const server = http.createServer((req, res) => {
  if (req.url !== '/sql') return void res.writeHead(404, { 'content-length': 0 }).end();
  pool.query('SELECT $1::int AS n', [42]).then(
    (r) => {
      const body = JSON.stringify(r.rows);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    },
    () => res.writeHead(500, { 'content-length': 0 }).end(),
  );
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
});
