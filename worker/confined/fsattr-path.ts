import { nativePath } from '../native-path.js';

/** The fsattr binary: `TSBUILD_FSATTR` when set, else worker/native/fsattr/tsbuild-fsattr of this checkout. */
export function fsattrPath(): string {
  return nativePath('worker/native/fsattr/tsbuild-fsattr', 'TSBUILD_FSATTR');
}

/** How tsbuild-fsattr says what failed: the failing call, its argument (a path, a job's index) and errno. */
export interface FsattrReport { op: string; arg: string; errno: number; size?: number }

/**
 * The report on the last line of the helper's stderr (`{"op":..,"arg":..,"errno":..}`, splice's size report with
 * `"size"` too), or undefined when that line is not one (the helper died otherwise; the caller shows the text).
 */
export function parseFsattrReport(stderr: string): FsattrReport | undefined {
  const lines = stderr.trim().split('\n');
  try {
    const r = JSON.parse(lines[lines.length - 1] ?? '') as { op?: unknown; arg?: unknown; errno?: unknown; size?: unknown } | null;
    if (typeof r?.op !== 'string' || typeof r.arg !== 'string' || typeof r.errno !== 'number') return undefined;
    return { op: r.op, arg: r.arg, errno: r.errno, ...(typeof r.size === 'number' ? { size: r.size } : {}) };
  } catch {
    return undefined;   // not JSON
  }
}
