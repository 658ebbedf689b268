// The untyped RPC proxy: any method at one or two dotted levels, each returning the call.
// Checked by the project's own settings only (npm run typecheck and test/types/types.test.ts):
// under noUncheckedIndexedAccess an index-signature member is "possibly undefined", which is why
// the typed form (rpc.ts) is the one to use with that flag (docs/typescript.md).
import type { App, Call, Result, Was } from '../../src/index.js';
import { expectType, type Equal } from './expect.js';

export async function untyped(was: Was<App>): Promise<void> {
  const s = was.map('@mypypi/pypi');
  s.search('Mozart');
  const results = await s.getswait(2);
  for (const r of results) void r.data;

  const listed = await was.lb('@mypypi/pypi').system.listMethods().getwait();
  expectType<Equal<typeof listed, Result<unknown>>>(true);
  const typedLater = await was.rest('http://127.0.0.1:5000/rpc2').search('x').getwait<string[]>();
  expectType<Equal<typeof typedLater.data, string[]>>(true);

  // A method returns the call: that is what getwait/getswait are on.
  expectType<Equal<ReturnType<typeof s.search>, Call>>(true);

  // Deeper than two levels needs invoke() or a typed interface.
  // @ts-expect-error this.is.not.a.method is five levels deep
  was.map('@c/x').this.is.not.a.method();
  was.map('@c/x').invoke('this.is.not.a.method');
  // @ts-expect-error one call object sends one method: the call has no methods after one
  was.lb('@c/x').search('a').search('b');
}
