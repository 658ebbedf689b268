import { RpcFault, RpcFaultCode, faultFor } from './fault.js';
import { encodeValue } from './xmlrpc-encode.js';

/** The XML-RPC batch method Skitai 0.9.4 answered (de-facto spec, as Python's SimpleXMLRPCServer). */
export const MULTICALL_METHOD = 'system.multicall';

/**
 * Runs `system.multicall` params: one array of `{methodName, params}` structs. Calls run one after
 * another, in order (callers may rely on it, as with Python's server). Each entry of the result is
 * `[value]` or a `{faultCode, faultString}` struct; pass the result to `serializeMethodResponse`.
 * A result XML-RPC cannot carry becomes that call's fault here, so one bad result cannot spoil the rest.
 * Throws {@link RpcFault} (-32602) when the params are not one array. With `expose` (devel mode) app
 * errors show their text, passed through `hide` (which blanks out secrets).
 */
export async function runMulticall(
  params: readonly unknown[],
  invoke: (method: string, params: unknown[]) => unknown,
  expose = false,
  hide: (text: string) => string = (text) => text,
): Promise<unknown[]> {
  const calls = params[0];
  if (params.length !== 1 || !Array.isArray(calls)) {
    throw new RpcFault(RpcFaultCode.INVALID_PARAMS, `${MULTICALL_METHOD} takes one array of {methodName, params} structs`);
  }
  const results: unknown[] = [];
  for (const call of calls) {
    results.push(await runOne(call, invoke, expose, hide));
  }
  return results;
}

async function runOne(call: unknown, invoke: (method: string, params: unknown[]) => unknown, expose: boolean, hide: (text: string) => string): Promise<unknown> {
  if (typeof call !== 'object' || call === null || Array.isArray(call)) {
    return fault(RpcFaultCode.INVALID_REQUEST, `each ${MULTICALL_METHOD} entry must be a struct`);
  }
  const { methodName, params } = call as Record<string, unknown>;
  if (typeof methodName !== 'string') return fault(RpcFaultCode.INVALID_REQUEST, 'missing string methodName');
  if (params !== undefined && !Array.isArray(params)) return fault(RpcFaultCode.INVALID_REQUEST, 'params must be an array');
  if (methodName === MULTICALL_METHOD) return fault(RpcFaultCode.INVALID_REQUEST, `recursive ${MULTICALL_METHOD} is not allowed`);
  try {
    const value = (await invoke(methodName, (params as unknown[] | undefined) ?? [])) ?? null;
    encodeValue(value, [], `the result of ${methodName}`); // dry run: refuse here, per call, what the response could not carry
    return [value];
  } catch (err) {
    const f = faultFor(err, 'xmlrpc', expose);
    return fault(f.code, expose ? hide(f.message) : f.message);
  }
}

function fault(faultCode: number, faultString: string): { faultCode: number; faultString: string } {
  return { faultCode, faultString };
}
