import { readFileSync } from 'node:fs';

// The initial user namespace maps every id to itself: /proc/self/uid_map is exactly "0 0 4294967295". Any other
// map means this process runs in a user namespace (tsbuild's own rootless re-exec, or a rootless container), where
// uid 0 has capabilities only over what the namespace owns: trusted.* xattrs, device nodes, cgroup v1 files and
// BPF device filters are refused by the kernel however "root" we look.
let cached: boolean | undefined;

/** True when this process runs in a user namespace other than the host's (rootless mode). */
export function isInUserNamespace(): boolean {
  if (cached === undefined) cached = !isIdentityMap(readMap('/proc/self/uid_map'));
  return cached;
}

function readMap(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';   // no /proc (or no user namespaces in the kernel): the initial namespace
  }
}

/** True for the initial namespace's map (or an unreadable one). */
export function isIdentityMap(map: string): boolean {
  const lines = map.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return true;
  return lines.length === 1 && /^0\s+0\s+4294967295$/.test(lines[0] ?? '');
}

let cachedRanges: { uid: number; gid: number } | undefined;

/**
 * How many ids from 0 up the namespace maps without a gap (uid, gid): a chown to an id at or above it fails with
 * EINVAL. Unlimited (2^32-1) in the initial namespace.
 */
export function mappedIdLimits(): { uid: number; gid: number } {
  cachedRanges ??= { uid: contiguousFromZero(readMap('/proc/self/uid_map')), gid: contiguousFromZero(readMap('/proc/self/gid_map')) };
  return cachedRanges;
}

/** The length of the id range [0, n) a map covers without a hole. */
export function contiguousFromZero(map: string): number {
  if (isIdentityMap(map)) return 4294967295;
  const ranges = map.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((r) => r.length === 3 && r.every(Number.isFinite))
    .map(([inner, , count]) => ({ inner: inner as number, count: count as number })).sort((a, b) => a.inner - b.inner);
  let end = 0;
  for (const r of ranges) if (r.inner <= end) end = Math.max(end, r.inner + r.count);
  return end;
}
