import { CommanderError } from 'commander';
import { buildProgram, normalizeArgv } from './cli.js';
import { exitStatus, formatError } from './format-error.js';
import { mapStack } from './stack-source-maps.js';

// The `tsbuild` command. Ctrl-C aborts the running build through its AbortSignal, so every step cleans up (mounts,
// processes, half-written blobs) before the process exits; a second Ctrl-C exits at once.
const controller = new AbortController();
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (++interrupts > 1) process.exit(130);
    controller.abort(new Error(`interrupted by ${sig}`));
  });
}

const args = normalizeArgv(process.argv.slice(2));
const program = (await buildProgram(controller.signal, args)).exitOverride();
try {
  await program.parseAsync(args, { from: 'user' });
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`${mapStack(formatError(err, args.includes('--debug')))}\n`);
    process.exitCode = exitStatus(err);
  }
}
