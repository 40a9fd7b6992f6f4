import type { ChildProcess } from 'node:child_process';

/** True while a started child has neither exited nor been killed (a pid, no exit code, no signal). */
export function isChildRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * Whether `child` and its pipes keep Node's event loop alive: a process kept waiting ahead of need must not hold a
 * finished command open; the one taken for work must, until it is done.
 */
export function setChildRef(child: ChildProcess, on: boolean): void {
  if (on) child.ref();
  else child.unref();
  for (const stream of child.stdio) {
    const handle = stream as unknown as { ref?: () => void; unref?: () => void } | null;
    if (on) handle?.ref?.();
    else handle?.unref?.();
  }
}
