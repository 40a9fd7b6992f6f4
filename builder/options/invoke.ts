import { csvFields, CsvError, parseGoBool, UserError } from '../../common/index.js';

// `tsbuild debug --invoke`: the process a debug session starts, as buildx's parseInvokeConfig (commands/debug.go)
// reads the flag: `default` or nothing (a shell), one word (that command), or CSV `args=…,entrypoint=…,env=…,user=…,
// cwd=…,tty=…` whose list values may be JSON arrays.

/** The process a debug session runs: argv is entrypoint + cmd; absent both, `sh`. */
export interface InvokeConfig {
  entrypoint: string[];
  cmd: string[];
  /** KEY=VALUE entries added to the container's environment. */
  env: string[];
  user?: string;
  cwd?: string;
  /** A pseudo-terminal when stdin is one (buildx's default); false: plain pipes. */
  tty: boolean;
}

/** Parses `--invoke`; `undefined` or `default` is buildx's default (a shell, a terminal). */
export function parseInvokeConfig(text: string | undefined): InvokeConfig {
  const cfg: InvokeConfig = { entrypoint: [], cmd: [], env: [], tty: true };
  if (text === undefined || text === '' || text === 'default') return cfg;
  // buildx's `on-error`: a shell in place of the step that failed.
  if (text === 'on-error') return { ...cfg, cmd: ['/bin/sh'] };
  let fields: string[];
  try {
    // Lazy about quotes, as buildx's parser is: `args=["ls"]` is one field (a JSON array of one word); a list of
    // several words is quoted whole, its quotes doubled, as buildx's documentation writes it.
    fields = csvFields(text, ',', true);
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `invalid --invoke ${JSON.stringify(text)}: ${err instanceof CsvError ? err.message : String(err)}`, 'e.g. --invoke /bin/bash, or --invoke \'"args=[""sh"",""-c"",""ls /""]"\' (a field with commas in double quotes, its quotes doubled)');
  }
  if (fields.length === 1 && !(fields[0] ?? '').includes('=')) return { ...cfg, cmd: [fields[0] ?? ''] };
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new UserError('INVALID_ARGUMENT', `invalid --invoke value ${field}`, 'write KEY=VALUE fields (args, entrypoint, env, user, cwd, tty); a list with commas goes in double quotes, its own quotes doubled: \'"args=[""-c"",""ls /""]"\'');
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1);
    switch (key) {
      case 'args': cfg.cmd.push(...maybeJsonArray(value)); break;
      case 'entrypoint': cfg.entrypoint.push(...maybeJsonArray(value)); break;
      case 'env': cfg.env.push(...maybeJsonArray(value)); break;
      case 'user': cfg.user = value; break;
      case 'cwd': cfg.cwd = value; break;
      case 'tty': {
        const b = parseGoBool(value);
        if (b === undefined) throw new UserError('INVALID_ARGUMENT', `--invoke tty=${value}: failed to parse tty`, 'give tty=true or tty=false');
        cfg.tty = b;
        break;
      }
      default:
        throw new UserError('INVALID_ARGUMENT', `--invoke: unknown key ${JSON.stringify(key)}`, 'use args, entrypoint, env, user, cwd or tty');
    }
  }
  return cfg;
}

/** The argv a config runs: entrypoint then cmd, or `sh` when it names neither (buildx's monitor default). */
export function invokeArgv(cfg: InvokeConfig): string[] {
  const argv = [...cfg.entrypoint, ...cfg.cmd];
  return argv.length > 0 ? argv : ['sh'];
}

/** buildx's maybeJSONArray: a JSON array of strings as its items, anything else as one item. */
function maybeJsonArray(value: string): string[] {
  try {
    const v: unknown = JSON.parse(value);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: one item
  }
  return [value];
}
