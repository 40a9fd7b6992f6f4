// RUN execution: the native helper (worker/native/) and its TypeScript driver. Owned by the exec engineer;
// this file states the contract the rest of worker/ builds against.
import type { ExecOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';

/** An overlay root filesystem for one step: read-only lower dirs (top first, overlayfs order) and the step's upper. */
export interface OverlayRootfs { lowerDirs: string[]; upperDir: string; workDir: string }

/** A RUN --mount source on the host: a plain directory, or a read-only overlay of committed snapshot dirs. */
export type ExecMountSource = { kind: 'dir'; path: string } | { kind: 'overlay'; lowerDirs: string[] };

/** Everything a RUN step needs besides its op. */
export interface ExecEnvironment {
  rootfs: OverlayRootfs;
  /** Sources of `--mount from=…`, keyed 'context' or by the source vertex id. */
  sources: Record<string, ExecMountSource>;
  /** Persistent directory under which type=cache mounts live (one subdirectory per cache id). */
  cacheDir: string;
  /** `--secret` files by id (host paths). */
  secrets: Record<string, string>;
  /** A private scratch directory for this step (hosts/resolv.conf files, secret copies); removed by the caller. */
  stateDir: string;
}

/** Runs one RUN step to completion; throws RunError (code RUN_FAILED) with exit code and last output lines. */
export async function runExec(_op: ExecOp, _env: ExecEnvironment, _signal: AbortSignal, _progress: ProgressSink): Promise<void> {
  throw new Error('runExec: not implemented yet');
}
