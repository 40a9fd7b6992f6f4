import type { Readable } from 'node:stream';

/** A mount as mount(8) takes it: `mount -t <type> -o <options> <source> <target>`. */
export interface Mount { type: 'overlay' | 'bind'; source: string; options: string[] }

/**
 * Snapshots of a filesystem. An *active* snapshot (its `key`) is writable and can never be a parent; `commit` turns
 * it into a *committed* one (its `name`), read-only, usable as a parent. A *view* is a read-only active snapshot of
 * a committed parent. Methods return mount descriptions (overlay lowerdir/upperdir/workdir); callers mount them.
 * After a crash a snapshot is either absent or whole: a process killed at any moment leaves committed snapshots whole
 * (their contents are in the page cache), and a committed snapshot not yet synced when the machine itself went down
 * is dropped when the snapshotter is next opened.
 */
export interface Snapshotter {
  prepare(key: string, parent?: string): Promise<Mount[]>;
  view(key: string, parent: string): Promise<Mount[]>;
  commit(name: string, key: string): Promise<void>;
  /** OCI layer tar of `name` against its parent, whiteouts included. */
  diff(name: string): Promise<Readable>;
  remove(keyOrName: string): Promise<void>;
}

/** What the snapshotter knows about one snapshot. */
export interface SnapshotInfo {
  /** The key (active, view) or name (committed). */
  name: string;
  kind: 'active' | 'view' | 'committed';
  parent: string | undefined;
  created: number;
  /** Bytes used by this snapshot's own directory (0 while active); -1 from `stat` until a list or usage measured it. */
  size: number;
}
