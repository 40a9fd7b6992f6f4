import type { StatMemo } from './walk.js';

/** Where COPY reads from on the host: a directory (context or a mounted snapshot view) or heredoc files. */
export type CopySourceDir =
  | { kind: 'dir'; path: string; excludes: string[]; memo?: StatMemo }
  | { kind: 'inline'; files: { name: string; content: string }[] };
