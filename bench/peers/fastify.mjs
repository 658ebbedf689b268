// Peer: Fastify (devDependency) with the two benchmark routes, no logger. Usage: node fastify.mjs PORT
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false });

app.get('/ping', (_req, reply) => {
  reply.type('text/plain').send('pong');
});
app.get('/hello', (_req, reply) => {
  reply.type('text/html; charset=utf-8').send('Hello World');
});

await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
