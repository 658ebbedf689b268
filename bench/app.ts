import { App } from 'skitai';

/** The benchmark app: one route, the same answer the peers give on /hello. */
export const app = new App();

app.route('/hello', () => 'Hello World');
