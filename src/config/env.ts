/**
 * `${NAME}` and `${NAME:-default}` in config values, so secrets and per-host values can come from
 * the environment (systemd `EnvironmentFile=`, a container's env) instead of the file.
 *
 * - `${NAME}`: the variable's value; unset is an error (an empty value is a value).
 * - `${NAME:-default}`: the default when the variable is unset or empty, as in the shell.
 * - `$${`: a literal `${`. A `$` not followed by `{` is an ordinary character, so values that
 *   always had a `$` in them (passwords) read as before.
 * Errors name the variable and never a value: the value of a variable is the secret being kept
 * out of the file.
 */
import type { ErrorCode } from '../errors.js';

/** Where variables are read from (`process.env` unless a caller says otherwise). */
export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `text` with its references replaced. `fail` throws; it gets a message that quotes no value. */
export function interpolate(text: string, env: Env, fail: (code: ErrorCode, message: string) => never): string {
  let at = text.indexOf('${');
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0) {
    if (at > from && text[at - 1] === '$') {
      out += text.slice(from, at - 1) + '${';
      from = at + 2;
    } else {
      const end = text.indexOf('}', at + 2);
      if (end < 0) fail('SKT_CONFIG_SYNTAX', '"${" without a closing "}": write ${NAME} or ${NAME:-default}, or $${ for a literal "${"');
      const body = text.slice(at + 2, end);
      const colon = body.indexOf(':-');
      const name = colon < 0 ? body : body.slice(0, colon);
      if (!NAME.test(name)) {
        fail('SKT_CONFIG_SYNTAX', 'a reference is ${NAME} or ${NAME:-default}, NAME being letters, digits and "_" (not starting with a digit); write $${ for a literal "${"');
      }
      const value = env[name];
      let replacement: string;
      if (colon >= 0) replacement = value === undefined || value === '' ? body.slice(colon + 2) : value;
      else if (value !== undefined) replacement = value;
      else return fail('SKT_CONFIG_ENV', `environment variable ${name} is not set (give it a value, or write \${${name}:-default})`);
      out += text.slice(from, at) + replacement;
      from = end + 1;
    }
    at = text.indexOf('${', from);
  }
  return out + text.slice(from);
}
