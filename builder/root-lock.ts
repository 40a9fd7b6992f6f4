import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../common/index.js';

/** A held lock on a state root; `release` lets others in. */
export interface RootLock { release(): Promise<void> }

/**
 * Locks `<root>/lock` with flock(1): builds hold it shared for their whole run, prune holds it exclusive, so prune
 * never removes a snapshot or blob that a build just decided to reuse (leases only protect records that already
 * exist). Node has no flock(2), so a small `flock FILE tee` child holds it; the lock lives exactly as long as that
 * child, which exits when our end of its stdin closes, so even a kill -9 of tsbuild releases it. `tee` (no file: stdin to
 * stdout) echoes the line we write once flock holds the lock: no shell in between (`flock -c` started bash, ~3 ms of
 * every build). Not `cat`: a RUN network's namespace holder is a `cat`, and tests count those.
 */
export async function lockRoot(root: string, mode: 'shared' | 'exclusive', onWait?: () => void): Promise<RootLock> {
  await mkdir(root, { recursive: true });
  const file = join(root, 'lock');
  const child: ChildProcess = spawn('flock', [mode === 'shared' ? '--shared' : '--exclusive', file, 'tee'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);   // EPIPE when flock failed before tee ran: the exit tells why
  child.stdin?.write('locked\n');
  const waiting = setTimeout(() => onWait?.(), 200);
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
      child.stdout?.once('data', () => resolve());
      child.once('error', (e) => reject(new UserError('STORE_LOCKED', `cannot lock ${file}: ${e.message}`, 'install util-linux (flock)', { cause: e })));
      child.once('exit', (code) => reject(new UserError('STORE_LOCKED', `cannot lock ${file} (flock exit ${code}): ${err.trim()}`, 'check that the state root is writable')));
    });
  } finally {
    clearTimeout(waiting);
  }
  child.removeAllListeners('exit');
  return {
    release: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.stdin?.end();
    }),
  };
}
