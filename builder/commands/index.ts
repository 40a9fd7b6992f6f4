import type { Command } from 'commander';

// The command table: one file a command (or a pair that belongs together: login/logout), each imported only when the
// command line names it, so a command loads its own modules and nothing else (`tsbuild --version` loads none: main.ts).
// A new command is a file here with a `register…(program, signal)` function and a line below.

/** Defines one command (and its subcommands) on the program; `signal` aborts its work (Ctrl-C). */
export type Register = (program: Command, signal: AbortSignal) => void;

/** Every command, in the order `tsbuild --help` lists them. */
export const COMMANDS: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ['build'], load: async () => (await import('./build.js')).registerBuild },
  { names: ['bake'], load: async () => (await import('./bake.js')).registerBake },
  { names: ['plan'], load: async () => (await import('./plan.js')).registerPlan },
  { names: ['debug'], load: async () => (await import('./debug.js')).registerDebug },
  { names: ['history'], load: async () => (await import('./history.js')).registerHistory },
  { names: ['du'], load: async () => (await import('./du.js')).registerDu },
  { names: ['prune'], load: async () => (await import('./prune.js')).registerPrune },
  { names: ['artifact'], load: async () => (await import('./artifact.js')).registerArtifact },
  { names: ['login', 'logout'], load: async () => (await import('./auth.js')).registerAuth },
  { names: ['report'], load: async () => (await import('./report.js')).registerReport },
  { names: ['explain'], load: async () => (await import('./explain.js')).registerExplain },
  { names: ['context'], load: async () => (await import('./context.js')).registerContext },
  { names: ['imagetools'], load: async () => (await import('./imagetools.js')).registerImagetools },
  { names: ['push'], load: async () => (await import('./push.js')).registerPush },
  { names: ['version', 'ls', 'inspect', 'create', 'use', 'rm', 'stop'], load: async () => (await import('./builders.js')).registerBuilders },
  { names: ['daemon'], load: async () => (await import('./daemon.js')).registerDaemon },
  { names: ['completion'], load: async () => (await import('./completion.js')).registerCompletion },
];

/** Every command name the table knows. */
export const COMMAND_NAMES = COMMANDS.flatMap((c) => c.names);
