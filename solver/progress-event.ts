import type { SourceRange, VertexId } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { MissReason } from './explain-miss.js';

/** What happened to one vertex in a solve: the hit/miss record every report renders. Times are epoch ms. */
export interface VertexRecord {
  id: VertexId;
  text: string;
  location?: SourceRange;
  key: Digest;
  cached: boolean;
  /** Why it missed; empty on a hit. */
  reasons: MissReason[];
  started: number;
  finished: number;
  durationMs: number;
  /** Bytes of the layers this step added (compressed); 0 for config-only steps. */
  size: number;
  /** Where a hit came from: this root's cache index, or a remote cache (`--cache-from`). Absent on a miss. */
  cacheSource?: 'local' | 'remote';
  /** The remote cache a remote hit came from, as the user named it. */
  cacheRef?: string;
  /** The error of the step that failed the build (only in the record of a failed build). */
  error?: string;
}

/** Progress of a solve, as plain data. `time` is epoch milliseconds. */
export type ProgressEvent =
  | { type: 'start'; vertex: VertexId; text: string; reasons: MissReason[]; time: number }
  | {
    type: 'cached'; vertex: VertexId; text: string; time: number;
    /** remote cache ref of a remote hit */
    source?: string;
    /**
     * The vertex whose result this one took because both have the same key (a `FROM --platform=$BUILDPLATFORM` stage's
     * step in each platform's graph): one step, which a display shows once, as BuildKit shows one vertex per digest.
     */
    of?: VertexId;
  }
  | { type: 'done'; vertex: VertexId; time: number; durationMs: number; size: number }
  | { type: 'error'; vertex: VertexId; time: number; message: string }
  | { type: 'log'; vertex: VertexId; stream: 'stdout' | 'stderr'; data: Uint8Array; time: number }
  | { type: 'status'; vertex: VertexId; text: string; current?: number; total?: number; time: number };
