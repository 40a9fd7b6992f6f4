/** A mount as mount(8) takes it: `mount -t <type> -o <options> <source> <target>`. */
export interface Mount { type: 'overlay' | 'bind'; source: string; options: string[] }

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
