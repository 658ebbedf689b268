import { App } from 'skitai';

/** The RPC benchmark app: add(a, b), served as XML-RPC and JSON-RPC at the mount point. */
export const app = new App();

app.route('/add', (was, { a, b }: { a: number; b: number }) => a + b, { params: ['a', 'b'] });
