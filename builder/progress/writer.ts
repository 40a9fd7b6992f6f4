import type { BuildGraph } from '../../frontend/index.js';
import type { ProgressEvent } from '../../solver/index.js';
import type { PlatformPart } from '../multi-platform.js';

/** Where a build's progress goes: one of the `--progress` modes. `close` flushes and restores the terminal. */
export interface ProgressWriter {
  /**
   * The compiled graph, once known: lets the writer label steps as buildx does (`[build 2/4] RUN …`); `parts`, each
   * platform's part of a multi-platform graph (`[linux/arm64 build 2/4] RUN …`).
   */
  plan(graph: BuildGraph, dockerfileText?: string, parts?: PlatformPart[]): void;
  event(e: ProgressEvent): void;
  /** A line of builder-level status outside any step (export, push, resolve). */
  note(text: string): void;
  close(): void;
}

/** Progress modes of `--progress`, as buildx names them. */
export type ProgressMode = 'auto' | 'plain' | 'tty' | 'rawjson' | 'tsbuild-json' | 'quiet';
