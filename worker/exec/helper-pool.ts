import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** Starts `tsbuild-run` with its four pipes: spec in on stdin, the container's stdout/stderr, status lines on fd 3. */
export function startHelper(binary: string): ChildProcess {
  // An empty environment: the helper reads none (the step's comes in the spec), and Node need not copy ours.
  return spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: {} });
}

/**
 * Helpers started ahead of need. Starting one forks this ~120 MB Node process (~2.5 ms of the main thread) and then
 * waits for the helper's own start (exec, dynamic loading); a started helper does nothing until it has read its
 * whole spec from stdin. So one helper per binary waits, blocked on that read, and taking it starts the next one
 * right after, while the taker's step runs. A waiting helper is unreferenced (it never keeps Node alive), dies with
 * this process (PR_SET_PDEATHSIG, and EOF on its stdin) and is killed by close(). Owned by one worker.
 */
export class HelperPool {
  readonly #waiting = new Map<string, ChildProcess>();
  #closed = false;

  /** A started helper for `binary`: the waiting one while it is alive, else a new one. The caller owns it. */
  take(binary: string): ChildProcess {
    const ready = this.#waiting.get(binary);
    this.#waiting.delete(binary);
    let child: ChildProcess;
    if (ready !== undefined && isWaiting(ready)) {
      child = ready;
      setRef(child, true);
    } else {
      ready?.kill('SIGKILL');
      child = startHelper(binary);
    }
    // After the caller has written its spec (same tick): the fork overlaps with the helper setting up its step.
    if (!this.#closed) setImmediate(() => this.#prepare(binary));
    return child;
  }

  /** Kills the waiting helpers; later takes start helpers as they need them. */
  close(): void {
    this.#closed = true;
    for (const child of this.#waiting.values()) child.kill('SIGKILL');
    this.#waiting.clear();
  }

  #prepare(binary: string): void {
    if (this.#closed || this.#waiting.has(binary)) return;
    const child = startHelper(binary);
    child.on('error', () => undefined);   // a helper that could not start is dropped by take(), which starts another
    child.stdin?.on('error', () => undefined);
    setRef(child, false);
    this.#waiting.set(binary, child);
    child.once('exit', () => {
      if (this.#waiting.get(binary) === child) this.#waiting.delete(binary);
    });
  }
}

function isWaiting(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

// The child and its pipes: an unreferenced waiting helper lets Node exit; a taken one keeps it alive again.
function setRef(child: ChildProcess, on: boolean): void {
  if (on) child.ref();
  else child.unref();
  for (const stream of child.stdio) {
    const handle = stream as unknown as { ref?: () => void; unref?: () => void } | null;
    if (on) handle?.ref?.();
    else handle?.unref?.();
  }
}
