import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { UserError } from '../../common/index.js';

/** A container engine that can `load` a docker archive: docker or podman, whichever answers `info`. */
export interface Loader { command: 'docker' | 'podman' }

function runQuiet(command: string, args: string[], stdinFile?: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: [stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: -1, output: err.code === 'ENOENT' ? 'not installed' : err.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    if (stdinFile && child.stdin) createReadStream(stdinFile).on('error', () => child.stdin?.destroy()).pipe(child.stdin);
  });
}

/**
 * `--load`: finds an engine to load the image into. docker's CLI may be installed without a daemon, so each is asked
 * `info` first; the first that answers is used. Checked before the build, so a build never runs for nothing.
 */
export async function findLoader(): Promise<Loader> {
  const tried: string[] = [];
  for (const command of ['docker', 'podman'] as const) {
    const r = await runQuiet(command, ['info']);
    if (r.code === 0) return { command };
    tried.push(`${command}: ${r.output.trim().split('\n').pop() ?? `exit ${r.code}`}`);
  }
  throw new UserError('INVALID_ARGUMENT', `--load needs a running docker or podman, and none answered (${tried.join('; ')})`,
    'start the docker daemon or install podman, or write the archive with -o type=docker,dest=image.tar and load it elsewhere');
}

/** Pipes a docker archive into `docker load` / `podman load`. */
export async function loadArchive(loader: Loader, file: string): Promise<void> {
  const r = await runQuiet(loader.command, ['load'], file);
  if (r.code !== 0) {
    throw new UserError('INVALID_ARGUMENT', `${loader.command} load failed (exit ${r.code}): ${r.output.trim()}`, `check that ${loader.command} is running and can load images`);
  }
  process.stderr.write(r.output);
}
