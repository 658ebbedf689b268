import { App } from 'skitai';

/** The SQL benchmark app: one `SELECT $1::int` through was.dlb per request, the rows as JSON. */
export const app = new App();

app.route('/sql', async (was) => (await was.dlb('@db').execute('SELECT $1::int AS n', [42]).getwait(5)).data);
