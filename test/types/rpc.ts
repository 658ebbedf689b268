// Typed RPC calls: was.map/lb/rest<Api>(…) check method names and arguments and type the answers.
// Checked by tsc only (test/types/types.test.ts).
import type { App, Clients, Result, Results, Was } from '../../src/index.js';
import { expectType, type Equal } from './expect.js';

interface Package {
  name: string;
  version: string;
}

/** The remote methods of @mypypi (an XML-RPC server). */
interface SearchApi {
  search(keyword: string, limit?: number): Package[];
  release(name: string): Promise<Package>;
  system: {
    listMethods(): string[];
    methodHelp(name: string): string;
  };
}

export async function typed(was: Was<App>): Promise<void> {
  const s = was.map<SearchApi>('@mypypi/pypi').search('Mozart');
  const results = await s.getswait(2);
  expectType<Equal<typeof results, Results<Package[]>>>(true);
  expectType<Equal<typeof results[number], Result<Package[]>>>(true);
  for (const r of results) r.data.map((p) => p.name.toUpperCase());

  // A method returning a promise on the server side answers its resolved value.
  const one = await was.lb<SearchApi>('@mypypi/pypi').release('skitai').getwait(2);
  expectType<Equal<typeof one, Result<Package>>>(true);
  const name: string = one.data.name;

  // Nested objects are dotted namespaces: system.listMethods.
  const methods = await was.rest<SearchApi>('http://127.0.0.1:5000/rpc2').system.listMethods().getwait();
  expectType<Equal<typeof methods.data, string[]>>(true);

  // JSON-RPC too.
  await was.lb<SearchApi>('@mypypi/api', 'JSONRPC').search('Bach', 10).getwait();

  // @ts-expect-error serach is not a method of SearchApi
  was.map<SearchApi>('@mypypi/pypi').serach('Mozart');
  // @ts-expect-error search takes a string
  was.map<SearchApi>('@mypypi/pypi').search(42);
  // @ts-expect-error too many arguments
  was.lb<SearchApi>('@mypypi/pypi').search('a', 1, 2);
  // @ts-expect-error listMethod is misspelt
  was.lb<SearchApi>('@mypypi/pypi').system.listMethod();
  // @ts-expect-error the answer is Package[], not string
  const wrong: Result<string> = await was.lb<SearchApi>('@mypypi/pypi').search('a').getwait();
  // @ts-expect-error one call object sends one method: the reply has no more methods
  was.lb<SearchApi>('@mypypi/pypi').search('a').release('b');
  // @ts-expect-error a typed call cannot be awaited as a value (then is typed away)
  const awaited: number = await was.lb<SearchApi>('@mypypi/pypi');
  void [name, wrong, awaited];

  // The call object's own members stay available before the method is named.
  const call = was.map<SearchApi>('@mypypi/pypi');
  call.invoke('search', 'kw');
  const unsent = await was.map<SearchApi>('@mypypi/pypi').getswait(1);
  expectType<Equal<typeof unsent, Results<unknown>>>(true);

  // HTTP methods are not RPC: a GET call has no RPC methods, typed or not.
  // @ts-expect-error a GET call is sent when made
  was.lb('@mypypi/pypi', 'GET').search('x');
}

/** Methods whose names the call object uses itself are left out; invoke() reaches them. */
interface Clashing {
  getwait(): string;
  then(): number;
  ping(): 'pong';
}

export async function clashing(was: Was<App>): Promise<void> {
  const c = was.lb<Clashing>('@x/rpc');
  const pong = await c.ping().getwait();
  expectType<Equal<typeof pong.data, 'pong'>>(true);
  // getwait is the call's own: it is not the remote method (no RpcReply comes back).
  expectType<Equal<ReturnType<typeof c.getwait>, Promise<Result<unknown>>>>(true);
  // @ts-expect-error then is typed away, never a remote method
  c.then();
}

/** Outside a handler, the Clients facade takes the same interface. */
export async function facade(c: Clients): Promise<void> {
  const r = await c.rest<SearchApi>('http://127.0.0.1:5000/rpc2').search('x').getwait();
  expectType<Equal<typeof r, Result<Package[]>>>(true);
  // @ts-expect-error serach is misspelt
  c.map<SearchApi>('@mypypi/pypi').serach('x');
}
