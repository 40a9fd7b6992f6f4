import type { UlimitName } from '../../frontend/index.js';

// `--ulimit NAME=SOFT[:HARD]`: docker's names → Linux RLIMIT_* numbers, which the native helper passes to setrlimit
// before execve (worker/native/process.c).

const RLIMITS: Record<UlimitName, number> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8,
  locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};

/** The helper's rlimit record for one ulimit; -1 stays -1 (RLIM_INFINITY). */
export function rlimitOf(u: { name: UlimitName; soft: number; hard: number }): { resource: number; soft: number; hard: number } {
  return { resource: RLIMITS[u.name], soft: u.soft, hard: u.hard };
}

/** The `--ulimit` name of an RLIMIT_* number, for errors (`7` → `nofile`). */
export function ulimitName(resource: number): UlimitName | undefined {
  return (Object.keys(RLIMITS) as UlimitName[]).find((name) => RLIMITS[name] === resource);
}
