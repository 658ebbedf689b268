import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, SUPERUSER, startPostgres, type TestPostgres } from '../support/postgres.js';
import { Members, type Member } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

/**
 * The deadline that travels, across real hops: client -> Skitai A -> Skitai B -> PostgreSQL.
 * A's `getwait(1)` goes to B as `X-Skitai-Deadline`, B's handler gets it as `was.deadline`, and
 * B's SQL is cancelled on the server when it is spent; a client that goes away cancels the
 * calls of its request (HTTP aborted, SQL cancelled). Real clocks here: these are sockets and a
 * server, and "about 1 s" is what a user would see.
 */

declare global {
  // B's handler leaves what it saw here (the sites run in this process), since A is gone by then.
  var hopB: { budget: number | undefined; status?: number; code?: unknown; msg?: string } | undefined;
}

const B_APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/slow', async (was) => {
  globalThis.hopB = { budget: was.deadline };
  const r = await was.dlb('@db').execute('SELECT pg_sleep(10) /* hop-b */').getwait(30);
  Object.assign(globalThis.hopB, { status: r.status, code: r.code, msg: r.msg });
  return { status: r.status, code: r.code, msg: r.msg };
});
app.route('/budget', (was) => ({ budget: was.deadline ?? null }));
`;

const A_APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/chain', async (was) => {
  const r = await was.lb('@b/slow', 'GET').getwait(1);
  return { status: r.status, code: r.code };
});
app.route('/hold-http', async (was) => {
  const r = await was.lb('@m/hang', 'GET').getwait(60);
  return { status: r.status };
});
app.route('/hold-sql', async (was) => {
  const r = await was.dlb('@db').execute('SELECT pg_sleep(60) /* hold-a */').getwait(60);
  return { status: r.status };
});
`;

let pg: TestPostgres;
let a: TestSite;
let b: TestSite;
const members = new Members();
let hang: Member;
let hangClosed = 0;

const db = (): string => `[@db]\ntype = postgresql\nmembers = ${pg.node}/skitai/${SUPERUSER}/${encodeURIComponent(PASSWORD)}\n`;

/** Backends running a statement that matches `pattern`. */
async function running(pattern: string): Promise<number> {
  const r = await pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'skitai' AND state = 'active' AND query LIKE $1`, [pattern]);
  return r.rows[0]!.n as number;
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

before(async () => {
  pg = await startPostgres();
  hang = await members.start((req) => req.socket.on('close', () => hangClosed++)); // never answers
  b = await startSite(`[routes:line]\n/ = ./app\n${db()}`, { 'app.ts': B_APP });
  a = await startSite(`[routes:line]\n/ = ./app\n[@b]\nmembers = 127.0.0.1:${b.port}\n[@m]\nmembers = ${hang.node}\n${db()}`, { 'app.ts': A_APP });
});

after(async () => {
  await a?.close();
  await b?.close();
  await members.closeAll();
  await pg?.stop();
});

describe('a deadline that travels', () => {
  test('a request brings its budget as X-Skitai-Deadline or grpc-timeout: was.deadline; none, or a bad value: undefined', async () => {
    const own = await getJson(`${b.base}/budget`, { 'x-skitai-deadline': '1500' });
    assert.ok((own.body.budget as number) > 1000 && (own.body.budget as number) <= 1500, `${own.body.budget}`);
    const grpc = await getJson(`${b.base}/budget`, { 'grpc-timeout': '2S' });
    assert.ok((grpc.body.budget as number) > 1500 && (grpc.body.budget as number) <= 2000, `${grpc.body.budget}`);
    assert.equal((await getJson(`${b.base}/budget`)).body.budget, null);
    assert.equal((await getJson(`${b.base}/budget`, { 'x-skitai-deadline': 'soon' })).body.budget, null);
  });

  test('B alone: an arriving budget of 800 ms cuts its getwait(30) SQL, cancelled on the server at about 0.8 s', async () => {
    const t0 = performance.now();
    const r = await getJson(`${b.base}/slow`, { 'x-skitai-deadline': '800' });
    const took = performance.now() - t0;
    assert.equal(r.body.code, 'SKT_DB_TIMEOUT');
    assert.match(String(r.body.msg), /the query was cancelled on the server/);
    // Not before the 0.8 s budget; far from the 10 s of the statement and the 30 s of its own getwait
    // (the upper bound leaves room for a loaded machine).
    assert.ok(took >= 790 && took < 8000, `answered after ${took} ms`);
    await until(async () => (await running('%hop-b%')) === 0, 4000, 'the statement to end on the server');
  });

  test('client -> A -> B -> PostgreSQL: A\'s getwait(1) reaches B as its budget, and B\'s SQL is cancelled on the server at about 1 s', async () => {
    globalThis.hopB = undefined;
    const t0 = performance.now();
    const answer = getJson(`${a.base}/chain`);
    await until(async () => (await running('%hop-b%')) === 1, 10_000, 'B\'s statement running');
    const budget = globalThis.hopB!.budget;
    assert.ok(budget !== undefined && budget > 0 && budget <= 1000, `B's handler saw a budget of ${budget} ms`);
    const r = await answer;
    assert.deepEqual([r.body.status, r.body.code], [1, 'SKT_CLIENT_TIMEOUT'], 'A\'s call timed out at its 1 s');
    await until(async () => (await running('%hop-b%')) === 0, 4000, 'B\'s statement to end on the server');
    const gone = performance.now() - t0;
    // Not before A's 1 s; far from the statement's 10 s (the upper bound leaves room for a loaded machine).
    assert.ok(gone >= 990 && gone < 8000, `B's SQL ended ${gone} ms after the client asked A`);
    // B's call ended either at its budget (TIMEOUT) or because A, its client, went away at the same moment.
    await until(() => globalThis.hopB?.code !== undefined, 4000, 'B\'s handler to see its result');
    assert.ok(['SKT_DB_TIMEOUT', 'SKT_DB_NETWORK'].includes(String(globalThis.hopB!.code)), String(globalThis.hopB!.msg));
  });
});

describe('a client that goes away cancels its request\'s calls', () => {
  /** GET `path` on A, wait for `started`, then drop the connection. */
  async function leave(path: string, started: () => Promise<boolean> | boolean): Promise<void> {
    const req = http.get(`${a.base}${path}`);
    req.on('error', () => {});
    await until(started, 10_000, `${path}: the outgoing call under way`);
    req.destroy();
  }

  test('HTTP: the member sees A\'s request aborted', async () => {
    const before = hangClosed;
    await leave('/hold-http', () => hang.hits > 0);
    await until(() => hangClosed > before, 5000, 'A to abort its request to the member');
  });

  test('SQL: the statement is cancelled on the server, long before its 60 s', async () => {
    await leave('/hold-sql', async () => (await running('%hold-a%')) === 1);
    await until(async () => (await running('%hold-a%')) === 0, 5000, 'the statement to be cancelled');
  });
});
