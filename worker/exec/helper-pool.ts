import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { BuildCgroups } from './build-cgroups.js';
import { DEFAULT_DEVICE_RULES } from './devices.js';
import { isInUserNamespace } from '../rootless/index.js';
import { isChildRunning, setChildRef } from '../../common/index.js';

/** Starts `tsbuild-run` with its four pipes: spec in on stdin, the container's stdout/stderr, status lines on fd 3. */
export function startHelper(binary: string, stdio: 'pipes' | 'terminal' = 'pipes'): ChildProcess {
  // An empty environment: the helper reads none (the step's comes in the spec), and Node need not copy ours.
  // 'terminal' (`tsbuild debug`): its stdout and stderr are ours and our stdin is its fd 4, which it relays to the step.
  return spawn(binary, [], { stdio: stdio === 'pipes' ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'inherit', 'inherit', 'pipe', 0], env: {} });
}

/** A helper to run a step: `cgroups` are the cgroup.procs files it is in already (its container inherits them). */
export interface TakenHelper { child: ChildProcess; cgroups: readonly string[] }

/**
 * A waiting helper: 'clean' (in this process's cgroups), 'joining' the shared set `target` (the move under way), or
 * 'joined' to it. A joining or joined helper serves only a step whose cgroups are exactly `target`: its container
 * inherits the helper's cgroups for every controller the step's own set does not name (a privileged step's set has
 * no devices cgroup, so it must not inherit the sandboxed one).
 */
interface Waiting { child: ChildProcess; state: 'clean' | 'joining' | 'joined'; target?: readonly string[] }

/**
 * Helpers started ahead of need. Starting one forks this ~120 MB Node process (~2.5 ms of the main thread) and then
 * waits for the helper's own start (exec, dynamic loading); a started helper does nothing until it has read its
 * whole spec from stdin. So one helper per binary waits, blocked on that read, and taking it starts the next one
 * right after, while the taker's step runs. A waiting helper is unreferenced (it never keeps Node alive), dies with
 * this process (PR_SET_PDEATHSIG, and EOF on its stdin) and is killed by close(). Owned by one worker.
 *
 * With the worker's shared cgroups, a waiting helper is also moved into the sandboxed steps' set once the step
 * before has finished (settle()): its container is then born in them, with no migration of its own. A migration
 * takes the kernel's cgroup_threadgroup_rwsem for writing, which first waits for an RCU grace period (4-12 ms here)
 * and holds up every fork on the machine meanwhile (cgroup-warmup.ts): so it is done between steps, not as one
 * starts.
 */
export class HelperPool {
  readonly #waiting = new Map<string, Waiting>();
  readonly #cgroups: BuildCgroups | undefined;
  #closed = false;

  /** `cgroups`: the worker's shared cgroups (rootful, cgroup v1), which waiting helpers join ahead of need. */
  constructor(cgroups?: BuildCgroups) {
    this.#cgroups = cgroups;
  }

  /** Whether taking a helper for `binary` now gives one already in the sandboxed steps' shared cgroups. */
  hasJoined(binary: string): boolean {
    const ready = this.#waiting.get(binary);
    return ready !== undefined && isChildRunning(ready.child) && ready.state === 'joined';
  }

  /**
   * A started helper for a step that joins `cgroups` (cgroup.procs files): the waiting one when it is alive and fit
   * for them, else a new one. The caller owns it; `cgroups` of the result are those it is in already.
   */
  take(binary: string, cgroups: readonly string[]): TakenHelper {
    const ready = this.#waiting.get(binary);
    if (ready !== undefined && !isChildRunning(ready.child)) {
      this.#waiting.delete(binary);
      ready.child.kill('SIGKILL');
    } else if (ready !== undefined) {
      const fits = ready.state === 'clean' || (ready.target !== undefined && sameFiles(ready.target, cgroups));
      // Not fit (another policy, or a move whose target is not known yet): it stays for the next sandboxed step.
      if (!fits) return { child: startHelper(binary), cgroups: [] };
      this.#waiting.delete(binary);
      setChildRef(ready.child, true);
      if (!this.#closed) setImmediate(() => this.prepare(binary));
      // A move still under way counts as none: the helper joins itself (a second move to the same cgroup is harmless).
      return { child: ready.child, cgroups: ready.state === 'joined' ? ready.target ?? [] : [] };
    }
    // After the caller has written its spec (same tick): the fork overlaps with the helper setting up its step.
    if (!this.#closed) setImmediate(() => this.prepare(binary));
    return { child: startHelper(binary), cgroups: [] };
  }

  /** A step's helper has finished: the waiting helpers join the shared cgroups now, before the next step needs one. */
  settle(): void {
    const cgroups = this.#cgroups;
    // Rootless steps get a delegated cgroup of their own (rootless-cgroup.ts), never the shared ones.
    if (cgroups === undefined || this.#closed || isInUserNamespace()) return;
    for (const waiting of this.#waiting.values()) {
      const pid = waiting.child.pid;
      if (waiting.state !== 'clean' || pid === undefined) continue;
      waiting.state = 'joining';
      void joinShared(cgroups, pid, (files) => { waiting.target = files; })
        .then(() => { if (waiting.target !== undefined) waiting.state = 'joined'; }, () => undefined);
    }
  }

  /** Kills the waiting helpers (and waits briefly for them to be gone from the shared cgroups); later takes start their own. */
  close(): void {
    this.#closed = true;
    const pids: number[] = [];
    for (const { child } of this.#waiting.values()) {
      child.kill('SIGKILL');
      if (child.pid !== undefined) pids.push(child.pid);
    }
    this.#waiting.clear();
    // The worker removes its shared cgroups next (synchronously): a helper still alive in one would keep it there.
    for (const pid of pids) waitGoneSync(pid, 200);
  }

  /**
   * Starts a waiting helper for `binary` now unless one waits already. take() calls it for the next step; a step calls
   * it when it begins, so that the fork (~5-10 ms of the main thread) happens while the step waits for its network and
   * cgroups, not after them when it takes the helper: only the first step of a worker finds none waiting.
   */
  prepare(binary: string): void {
    if (this.#closed || this.#waiting.has(binary)) return;
    const child = startHelper(binary);
    child.on('error', () => undefined);   // a helper that could not start is dropped by take(), which starts another
    child.stdin?.on('error', () => undefined);
    setChildRef(child, false);
    const waiting: Waiting = { child, state: 'clean' };
    this.#waiting.set(binary, waiting);
    child.once('exit', () => {
      if (this.#waiting.get(binary) === waiting) this.#waiting.delete(binary);
    });
  }
}

// Moves `pid` into the sandboxed steps' shared cgroups (made on first use), telling `target` which ones before the
// first move; nothing where steps do not share cgroups (v2). A failed move leaves the helper 'joining' for good: it
// then serves only a sandboxed step, and joins the same cgroups itself.
async function joinShared(cgroups: BuildCgroups, pid: number, target: (files: readonly string[]) => void): Promise<void> {
  const set = await cgroups.acquire(DEFAULT_DEVICE_RULES);
  if (set === undefined) return;
  target(set.procsFiles);
  for (const file of set.procsFiles) await writeFile(file, String(pid));
}

export function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
}

// Until `pid` has exited (a zombie has left its cgroups) or `ms` have passed.
function waitGoneSync(pid: number, ms: number): void {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < ms; waited++) {
    let state: string | undefined;
    try {
      state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    Atomics.wait(tick, 0, 0, 1);
  }
}
