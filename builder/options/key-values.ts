import { UserError } from '../../common/index.js';

/**
 * Collects repeatable `KEY=VALUE` flags (`--build-arg`, `--label`) into a record. Like docker, `--build-arg KEY`
 * without `=` takes the value from the environment (and is dropped when the variable is unset).
 */
export function keyValues(flag: string, values: string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!key) throw new UserError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(item)}: missing name`, `write ${flag} NAME=value`);
    if (eq >= 0) out[key] = item.slice(eq + 1);
    else if (env[key] !== undefined) out[key] = env[key] ?? '';
  }
  return out;
}
