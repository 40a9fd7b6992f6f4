import type { Command, Option } from 'commander';

/**
 * Options whose default comes from the environment ($TSBUILD_ROOT, $BUILDKIT_PROGRESS …), each with the function that
 * reads it. Kept beside the option so a program made before its process knew its environment (the one the V8
 * startup snapshot holds, builder/bundle/snapshot-entry.ts) is given this process's defaults by refreshEnvDefaults.
 */
const readers = new WeakMap<Option, () => unknown>();

/** `option` with `read()` as its default now, and again at each refreshEnvDefaults of its command. */
export function envDefault(option: Option, read: () => unknown): Option {
  readers.set(option, read);
  return option.default(read());
}

/**
 * Sets every environment-dependent default of `program` and its subcommands from this process's environment: the
 * default help shows and the value an unparsed option has. For a program made in another process (the blob's);
 * call it before parsing.
 */
export function refreshEnvDefaults(program: Command): void {
  for (const option of program.options) {
    const read = readers.get(option);
    if (read === undefined) continue;
    const value = read();
    option.default(value);
    program.setOptionValueWithSource(option.attributeName(), value, 'default');
  }
  for (const sub of program.commands) refreshEnvDefaults(sub);
}
