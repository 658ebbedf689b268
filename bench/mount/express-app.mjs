// The Express app of `npm run bench -- mount`, served two ways: mounted in Skitai (site.conf) and on
// bare node:http (bare.mjs). `/json` reads the request id Skitai's `was` holds when it is mounted.
import express from 'express';

const mounted = process.env.SKITAI_BENCH_MOUNTED === '1';
// Only the mounted run has a `was` (and may resolve 'skitai' to this checkout's src/).
const { was } = mounted ? await import('skitai') : { was: undefined };
export const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get('/hello', (req, res) => {
  res.send('Hello World');
});
app.get('/json', (req, res) => {
  res.json({ hello: 'world', id: mounted ? was.request.id : req.get('x-request-id') ?? null });
});
