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

/**
 * The accounts of snapshot chains one worker has seen, keyed by the chain's lower dirs. Owned by the worker of one
 * state root (a root removed and created again at the same path numbers its snapshot dirs anew, so a key must not
 * outlive the worker that opened it).
 */
export class ChainAccounts {
  readonly #known = new Map<string, Known>();

  /**
   * The accounts of a step's rootfs before the step: `session` is the step's confined session on its upper dir with
   * the lower dirs as roots 1.. (the one the stub clean-up uses). Falls back to the full read when the upper dir is
   * not empty (not a fresh step) or the chain is unknown.
   */
  async of(rootfs: OverlayRootfs, session: RootSession): Promise<Accounts> {
    // Every look the decision may need, sent together and answered in one round trip (the top lower's two are
    // unused when the chain is known).
    const hasBelow = rootfs.lowerDirs.length > 1;
    const [upper, top, topEtc] = await Promise.all([session.lstat(0, ''),
      hasBelow ? session.lstat(1, '') : undefined, hasBelow ? session.lstat(1, 'etc') : undefined]);
    const isFresh = upper !== undefined && upper.type === 'd' && upper.isEmptyDir && !upper.isOpaqueDir;
    if (!isFresh || rootfs.lowerDirs.length === 0) return readRootfsAccounts(rootfs);
    const key = keyOf(rootfs.lowerDirs);
    const hit = this.#known.get(key);
    if (hit !== undefined) return hit.accounts;
    const below = this.#known.get(keyOf(rootfs.lowerDirs.slice(1)));
    if (below?.isPlain === true && hasBelow && leavesEtcAlone(top, topEtc)) {
      this.#remember(key, below);
      return below.accounts;
    }
    const read = await readRootfsAccounts(rootfs, true);
    this.#remember(key, { accounts: read.accounts, isPlain: read.isPlain });
    return read.accounts;
  }

  /** The accounts of a chain of lower dirs already known (read, or noted after the step that made its top). */
  known(lowerDirs: readonly string[]): Accounts | undefined {
    return lowerDirs.length === 0 ? undefined : this.#known.get(keyOf(lowerDirs))?.accounts;
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

function keyOf(lowerDirs: readonly string[]): string {
  return JSON.stringify(lowerDirs);
}

// The top lower dir (root 1 of the session: its root and its `etc`) neither touches /etc nor hides what is below it.
function leavesEtcAlone(root: EntryStat | undefined, etc: EntryStat | undefined): boolean {
  return root !== undefined && root.type === 'd' && !root.isOpaqueDir && etc === undefined;
}
