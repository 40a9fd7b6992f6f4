import type { BuildRecord, MissReason, VertexRecord } from '../../../solver/index.js';

/** One step of a hand-made build: its Dockerfile line, and how it went (a hit unless `reasons` are given). */
export interface StepSpec {
  line: string;
  ms?: number;
  size?: number;
  reasons?: MissReason[];
  /** Default: `s0.<position in the stage>`. */
  id?: string;
}

/**
 * A BuildRecord for report tests: the steps run one after another from t=0, each step's text is its Dockerfile line
 * (history text for RUN), and `dockerfileText` holds the lines so the report can quote them.
 */
export function recordOf(lines: (StepSpec | string)[], opts: { args?: Record<string, string>; startGap?: number } = {}): { record: BuildRecord; dockerfileText: string } {
  const started = 1_700_000_000_000;
  let t = started + (opts.startGap ?? 10);
  const vertices: VertexRecord[] = [];
  const text: string[] = [];
  let step = 0;
  let stage = -1;
  for (const item of lines) {
    text.push(typeof item === 'string' ? item : item.line);
    if (typeof item === 'string') continue;   // ARG and comments: lines without a step
    if (/^FROM\b/i.test(item.line)) { stage++; step = 0; }
    const ms = item.ms ?? (item.reasons ? 100 : 0);
    const line = text.length;
    vertices.push({
      id: item.id ?? `s${Math.max(stage, 0)}.${step++}`,
      text: item.line.startsWith('RUN ') ? `RUN /bin/sh -c ${item.line.slice(4)} # buildkit` : item.line,
      location: { file: '/src/app/Dockerfile', line, column: 1, endLine: line, endColumn: item.line.length + 1 },
      key: `sha256:${String(line).padStart(64, '0')}`,
      cached: item.reasons === undefined,
      reasons: item.reasons ?? [],
      started: t, finished: t + ms, durationMs: ms, size: item.size ?? 0,
    });
    t += ms;
  }
  const record: BuildRecord = {
    id: 'b1234567890', started, finished: t + 5, status: 'succeeded', dockerfile: '/src/app/Dockerfile',
    args: opts.args ?? {}, tags: ['localhost:5000/app:1'], vertices,
  };
  return { record, dockerfileText: `${text.join('\n')}\n` };
}

/** A content miss of the build context. */
export function changed(...paths: string[]): MissReason {
  return { kind: 'content', source: 'context', changes: paths.map((path) => ({ path, before: `sha256:${'a'.repeat(64)}`, after: `sha256:${'b'.repeat(64)}` })), count: paths.length };
}

/** A miss because the step at `vertex` missed. */
export function parent(vertex: string, text = ''): MissReason {
  return { kind: 'parent', vertex, text };
}
