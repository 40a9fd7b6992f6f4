// The native helper's status lines (fd 3), one JSON object per line. See worker/native/status.c for the writer.

/** A mount target the helper created in the rootfs; `before`/`after` are its parent's mtime [s, ns] around it. */
export interface Stub { path: string; isDir: boolean; before: [number, number]; after: [number, number] }

/** One status line, validated. */
export type HelperStatus =
  | { kind: 'failure'; op: string; arg: string; errno: number }
  | { kind: 'stub'; stub: Stub }
  | { kind: 'settled'; mtime: [number, number] }
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: number };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function timePair(v: unknown): [number, number] | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [s, ns] = v as unknown[];
  return isInt(s) && isInt(ns) ? [s, ns] : undefined;
}

/** Parses one status line; anything that does not match the schema exactly is a bug and throws. */
export function parseStatusLine(line: string): HelperStatus {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new Error(`tsbuild-run: unparsable status line ${JSON.stringify(line)}`, { cause: err });
  }
  if (isRecord(v)) {
    if (typeof v['op'] === 'string' && typeof v['arg'] === 'string' && isInt(v['errno'])) {
      return { kind: 'failure', op: v['op'], arg: v['arg'], errno: v['errno'] };
    }
    const before = timePair(v['before']);
    const after = timePair(v['after']);
    if (typeof v['stub'] === 'string' && typeof v['dir'] === 'boolean' && before && after) {
      return { kind: 'stub', stub: { path: v['stub'], isDir: v['dir'], before, after } };
    }
    const settled = timePair(v['settled']);
    if (settled) return { kind: 'settled', mtime: settled };
    if (isInt(v['exit'])) return { kind: 'exit', code: v['exit'] };
    if (isInt(v['signal'])) return { kind: 'signal', signal: v['signal'] };
  }
  throw new Error(`tsbuild-run: unexpected status line ${JSON.stringify(line)}`);
}
