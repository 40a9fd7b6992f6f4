import { UserError } from '../../common/index.js';

/**
 * Collects repeatable `KEY=VALUE` flags (`--build-arg`, `--label`) into a record, as buildx's listToMap
 * (commands/build.go) does. A bare `KEY` is, with `bare: 'env'` (`--build-arg`, like docker), the variable's value
 * from the environment, dropped when it is unset; with `bare: 'empty'` (`--label`) the empty string.
 */
export function keyValues(flag: string, values: string[], bare: 'env' | 'empty' = 'env', env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    // buildx's own words, which CI logs are grepped for (tests/build.go testBuildBuildArgNoKey).
    if (!key) throw new UserError('INVALID_ARGUMENT', `invalid key-value pair ${JSON.stringify(item)}: empty key`, `write ${flag} NAME=value`);
    if (eq >= 0) out[key] = item.slice(eq + 1);
    else if (bare === 'empty') out[key] = '';
    else if (env[key] !== undefined) out[key] = env[key] ?? '';
  }
  return out;
}
