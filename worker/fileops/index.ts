// COPY/ADD semantics on plain host directories. Owned by the file-ops engineer; this file states the contract.
import type { CopyOp } from '../../frontend/index.js';
import type { ContentDigest, ProgressSink } from '../../solver/index.js';

/** Where COPY reads from on the host: a directory (context or a mounted snapshot view) or heredoc files. */
export type CopySourceDir =
  | { kind: 'dir'; path: string; excludes: string[] }
  | { kind: 'inline'; files: { name: string; content: string }[] };

/** Copies what `op` selects from `source` into the mounted root filesystem at `rootDir`, with Docker's COPY rules. */
export async function copyInto(_op: CopyOp, _source: CopySourceDir, _rootDir: string, _signal: AbortSignal, _progress: ProgressSink): Promise<void> {
  throw new Error('copyInto: not implemented yet');
}

/** Digest of exactly the files `op` selects from `source`; never mtime. */
export async function contentDigest(_op: CopyOp, _source: CopySourceDir, _signal: AbortSignal): Promise<ContentDigest> {
  throw new Error('contentDigest: not implemented yet');
}
