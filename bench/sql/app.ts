import { App } from 'skitai';

/** The SQL benchmark app: one `SELECT $1::int` through `was.dlb` per request (bench/sql/run.mjs). */
export const app = new App();

app.route('/q', async (was) => {
  const r = await was.dlb('@db').execute('SELECT $1::int AS n', [1]).getwait(2);
  return String((r.data as { n: number }[])[0]!.n);
});
