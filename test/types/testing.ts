// The test client's types (test/types/types.test.ts).
import { App } from '../../src/index.js';
import { testClient, type TestClient, type TestResponse } from '../../src/testing.js';
import { expectType, type Equal } from './expect.js';

export async function usage(): Promise<void> {
  const app = new App();
  const client = await testClient(app, { prefix: '/api', cookies: false });
  expectType<Equal<typeof client, TestClient>>(true);
  const res = await client.post('/api/items', { json: { name: 'x' }, headers: { 'x-a': ['1', '2'] } });
  expectType<Equal<typeof res, TestResponse>>(true);
  const item = res.json<{ name: string }>();
  expectType<Equal<typeof item.name, string>>(true);
  await testClient({ config: '[routes:line]\n/ = ./public\n', dir: '/srv/site' });
  // @ts-expect-error a site needs an app or a config
  await testClient({ dir: '/srv/site' });
  // @ts-expect-error the shorthands set the method themselves
  await client.get('/', { method: 'POST' });
  await client.close();
}
