import { App } from 'skitai';

/** The quick-start app that `npm start` serves (see examples/site.conf). */
export const app = new App().useSession();

app.route('/hello', () => 'Hello World');

app.route('/item/<int:id>', (was, { id }) => ({ id, path: was.request.path }));

app.route('/echo', (was, args) => ({ method: was.request.method, args }), { methods: ['GET', 'POST'] });

app.route('/stream', async function* (was) {
  was.response.set('content-type', 'text/plain; charset=utf-8');
  for (let i = 1; i <= 3; i++) yield `chunk ${i}\n`;
});

// A template (templates/greet.html, autoescaped) and a counter kept in the signed session cookie.
app.route('/greet/<name>', (was, { name }) => was.render('greet.html', { name }));
app.route('/visits', (was) => {
  const visits = Number(was.session.get('visits') ?? 0) + 1;
  was.session.set('visits', visits);
  return { visits };
});

// Every route is also an RPC method: `add` over XML-RPC or JSON-RPC, with positional params.
app.route('/add', (was, { a, b }) => Number(a) + Number(b), { params: ['a', 'b'], doc: 'add(a, b) -> a + b' });
