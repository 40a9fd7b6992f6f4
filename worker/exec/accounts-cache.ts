import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../../common/index.js';
import type { Accounts, EntryStat, RootSession } from '../confined/index.js';
import type { OverlayRootfs } from './index.js';
import { readRootfsAccounts } from './rootfs-file.js';

// A step's users and groups without a mount per step. Committed snapshot dirs never change (their names are random
// or chain ids), so what a chain of lower dirs shows in /etc/passwd and /etc/group is known once read. A step on top
// of another (lowers [L, ...C]) sees the same accounts as C when L cannot have changed them: L has no top-level
// `etc` entry at all (no directory, file, symlink or whiteout) and L's root is not opaque, while in C's merged view
// /etc is a directory (or absent) and passwd and group are regular files (or absent) reached without a symlink.
// Then overlayfs rules leave /etc/passwd and /etc/group exactly as C had them. Anything else is read again, through
// the one reader (rootfs-file.ts).

interface Known { accounts: Accounts; isPlain: boolean }

const MAX_ENTRIES = 512;
/** Chains whose read is kept on disk (readRootfsAccounts results only; carried-up chains are cheap to derive). */
const MAX_STORED = 256;

/**
 * The accounts of snapshot chains one worker has seen, keyed by the chain's lower dirs, and (with a directory) what
 * was read kept for the root's later workers (StoredReads). Owned by the worker of one state root.
 */
export class ChainAccounts {
  readonly #known = new Map<string, Known>();
  readonly #stored: StoredReads | undefined;

  /**
   * `dir`: where reads are kept for the worker's later processes (a directory of the state root, gone with it).
   * Without, what is read lives as long as this object.
   */
  constructor(dir?: string) {
    this.#stored = dir === undefined ? undefined : new StoredReads(dir);
  }

  /**
   * The accounts of a step's rootfs before the step: `session` is the step's confined session on its upper dir with
   * the lower dirs as roots 1.. (the one the stub clean-up uses). Falls back to the full read when the upper dir is
   * not empty (not a fresh step) or the chain is unknown; that read mounts the rootfs in the temp dir `tempDir`.
   */
  async of(rootfs: OverlayRootfs, session: RootSession, tempDir: string): Promise<Accounts> {
    // Every look the decision may need, sent together and answered in one round trip (the top lower's two are
    // unused when the chain is known).
    const hasBelow = rootfs.lowerDirs.length > 1;
    const [upper, top, topEtc] = await Promise.all([session.lstat(0, ''),
      hasBelow ? session.lstat(1, '') : undefined, hasBelow ? session.lstat(1, 'etc') : undefined]);
    const isFresh = upper !== undefined && upper.type === 'd' && upper.isEmptyDir && !upper.isOpaqueDir;
    if (!isFresh || rootfs.lowerDirs.length === 0) return readRootfsAccounts(rootfs, tempDir);
    const key = keyOf(rootfs.lowerDirs);
    const hit = this.#lookup(rootfs.lowerDirs);
    if (hit !== undefined) return hit.accounts;
    const below = this.#lookup(rootfs.lowerDirs.slice(1));
    if (below?.isPlain === true && hasBelow && leavesEtcAlone(top, topEtc)) {
      this.#remember(key, below);
      return below.accounts;
    }
    const read = await readRootfsAccounts(rootfs, tempDir, true);
    const known = { accounts: read.accounts, isPlain: read.isPlain };
    this.#remember(key, known);
    await this.#stored?.store(rootfs.lowerDirs, known);
    return read.accounts;
  }

  /** The accounts of a chain of lower dirs already known (read, or noted after the step that made its top). */
  known(lowerDirs: readonly string[]): Accounts | undefined {
    return this.#lookup(lowerDirs)?.accounts;
  }

  // What this object knows of a chain, else what an earlier process read of it (remembered from then on).
  #lookup(lowerDirs: readonly string[]): Known | undefined {
    if (lowerDirs.length === 0) return undefined;
    const key = keyOf(lowerDirs);
    const hit = this.#known.get(key);
    if (hit !== undefined || this.#stored === undefined) return hit;
    const loaded = this.#stored.load(lowerDirs);
    if (loaded !== undefined) this.#remember(key, loaded);
    return loaded;
  }

  /**
   * After a step on a fresh upper dir, with its stubs removed: `root` and `etc` are the upper dir's root and `etc`
   * (lstat through the step's session). When the step left /etc alone and its lowers' accounts are known, the
   * chain it makes (upper dir on top of them: the committed snapshot's dirs) has the same accounts, so the next
   * step on it needs no look before it runs.
   */
  noteStep(rootfs: OverlayRootfs, root: EntryStat | undefined, etc: EntryStat | undefined): void {
    const below = rootfs.lowerDirs.length === 0 ? undefined : this.#known.get(keyOf(rootfs.lowerDirs));
    if (below?.isPlain === true && leavesEtcAlone(root, etc)) this.#remember(keyOf([rootfs.upperDir, ...rootfs.lowerDirs]), below);
  }

  #remember(key: string, value: Known): void {
    this.#known.delete(key);
    this.#known.set(key, value);
    if (this.#known.size > MAX_ENTRIES) this.#known.delete(this.#known.keys().next().value as string);
  }
}

/**
 * Reads of chains kept for the worker's later processes: the first RUN step of every build would otherwise mount its
 * base chain read-only and read /etc/passwd and /etc/group again (three processes: mount, the confined reader, umount).
 * One file per chain, named by the digest of its lower dirs, replaced whole (common/replace-file.ts). A chain's dirs
 * are committed snapshots, never written again, but a path can name another snapshot once a root was emptied and
 * made anew (ids then start again): each file also holds every lower dir's inode and ctime, and is believed only
 * while all of them are the same. Anything unreadable is no answer (the chain is read again).
 */
class StoredReads {
  readonly #dir: string;
  constructor(dir: string) { this.#dir = dir; }

  load(lowerDirs: readonly string[]): Known | undefined {
    try {
      const file = JSON.parse(readFileSync(this.#path(lowerDirs), 'utf8')) as StoredRead;
      if (file.v !== 1 || keyOf(file.lowerDirs) !== keyOf(lowerDirs) || keyOf(file.ids) !== keyOf(identities(lowerDirs))) return undefined;
      return { accounts: file.accounts, isPlain: file.isPlain };
    } catch {
      return undefined;
    }
  }

  async store(lowerDirs: readonly string[], known: Known): Promise<void> {
    try {
      mkdirSync(this.#dir, { recursive: true });
      const record: StoredRead = { v: 1, lowerDirs: [...lowerDirs], ids: identities(lowerDirs), ...known };
      await replaceFile(this.#path(lowerDirs), JSON.stringify(record), 0o644);
      this.#trim();
    } catch {
      // a cache: the next process reads the chain again
    }
  }

  #path(lowerDirs: readonly string[]): string {
    return join(this.#dir, `${createHash('sha256').update(keyOf(lowerDirs)).digest('hex')}.json`);
  }

  // The oldest written go first beyond MAX_STORED (a file of a pruned chain is never believed again, only kept).
  #trim(): void {
    const files = readdirSync(this.#dir).filter((f) => f.endsWith('.json'));
    if (files.length <= MAX_STORED) return;
    const byAge = files.map((f) => ({ f, t: statSync(join(this.#dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of byAge.slice(0, files.length - MAX_STORED)) rmSync(join(this.#dir, f), { force: true });
  }
}

interface StoredRead { v: 1; lowerDirs: string[]; ids: string[]; accounts: Accounts; isPlain: boolean }

// Each dir's inode and ctime: what a dir made anew at the same path does not keep.
function identities(lowerDirs: readonly string[]): string[] {
  return lowerDirs.map((d) => {
    const st = statSync(d, { bigint: true });
    return `${st.dev}:${st.ino}:${st.ctimeNs}`;
  });
}

function keyOf(lowerDirs: readonly string[]): string {
  return JSON.stringify(lowerDirs);
}

// The top lower dir (root 1 of the session: its root and its `etc`) neither touches /etc nor hides what is below it.
function leavesEtcAlone(root: EntryStat | undefined, etc: EntryStat | undefined): boolean {
  return root !== undefined && root.type === 'd' && !root.isOpaqueDir && etc === undefined;
}
