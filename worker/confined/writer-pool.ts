import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fsattrPath } from './fsattr-path.js';
import { isChildRunning, setChildRef } from '../../common/index.js';

// The confined writers' processes, started once and served one session after another (`tsbuild-fsattr serve`,
// worker/native/fsattr/root.c). Starting a process forks this whole Node process: page tables of a ~100 MB heap,
// ~5 ms of the main thread on a slow VM, and a RUN step opens a session every time. A writer that ended its session
// cleanly has exec'd itself afresh (no fd, no state of the last root survives), so giving it the next session is
// as clean as starting one. A writer that failed, or was aborted, is never given back: it has exited or is killed.

/** Idle writers kept: enough for the sessions a build has open at once in the common case. */
const MAX_IDLE = 4;

/** Idle writers, each with the listener that drops it from here when it dies while idle. */
const idle = new Map<ChildProcessWithoutNullStreams, () => void>();

/** A writer waiting for its session's arguments: an idle one, or a new one. The caller owns it. */
export function takeWriter(): ChildProcessWithoutNullStreams {
  for (const [child, onExit] of idle) {
    idle.delete(child);
    child.removeListener('exit', onExit);
    if (!isChildRunning(child)) continue;
    setChildRef(child, true);
    return child;
  }
  const child = spawn(fsattrPath(), ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined);   // EPIPE after a failure: the exit status tells why
  return child;
}

/**
 * A writer whose session ended with E answered (the caller has removed its own listeners): kept for the next
 * session, or let go (end of input while idle is a clean exit). Idle writers never keep Node running, and die with
 * it (PR_SET_PDEATHSIG, and end of input).
 */
export function giveBackWriter(child: ChildProcessWithoutNullStreams): void {
  if (!isChildRunning(child) || idle.size >= MAX_IDLE) {
    child.stdin.end();
    return;
  }
  setChildRef(child, false);
  const onExit = (): void => { idle.delete(child); };
  idle.set(child, onExit);
  child.once('exit', onExit);
}

/**
 * Lets every idle writer go (end of input: a clean exit). For a process about to take on another's limits and
 * cgroup (the daemon's warm process, before the command it serves): the writers its command uses are then started
 * under them, as on a direct run.
 */
export function dropIdleWriters(): void {
  for (const [child, onExit] of idle) {
    idle.delete(child);
    child.removeListener('exit', onExit);
    child.stdin.end();
  }
}
