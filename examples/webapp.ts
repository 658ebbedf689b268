import { App } from 'skitai';

/** The quick-start app that `npm start` serves (see examples/site.conf). */
export const app = new App();

app.route('/hello', () => 'Hello World');

app.route('/item/<int:id>', (was, { id }) => ({ id, path: was.request.path }));

app.route('/echo', (was, args) => ({ method: was.request.method, args }), { methods: ['GET', 'POST'] });

app.route('/stream', async function* (was) {
  was.response.set('content-type', 'text/plain; charset=utf-8');
  for (let i = 1; i <= 3; i++) yield `chunk ${i}\n`;
});
