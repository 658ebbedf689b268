// The bare `ws` peer of bench/ws.mjs: node:http + ws's WebSocketServer, echoing every message on
// /echo, nothing else. `node bench/ws/echo-server.mjs PORT`.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => res.writeHead(req.url === '/ping' ? 200 : 404).end(req.url === '/ping' ? 'pong' : ''));
const wss = new WebSocketServer({ server, path: '/echo', clientTracking: false });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
