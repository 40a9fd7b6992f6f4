import { statSync } from 'node:fs';
import { RootSession } from '../confined/index.js';
import { DirListing, type EntryStat } from './dir-listing.js';
import { throwIfAborted } from './errors.js';
import { PathFilter } from './filters.js';
import type { StatMemo } from './walk.js';

/**
 * What a filtered context needs on top of the context directory to be mounted as one read-only overlay: the
 * whiteout layer, written; or why the context cannot be shown that way (the caller copies it instead).
 */
export type ContextWhiteouts = { kind: 'written' } | { kind: 'unsupported'; reason: string };

/** The context as the build reads it: its directory, its .dockerignore patterns and the build's listing memo. */
export interface FilteredContext { path: string; excludes: string[]; memo?: StatMemo | undefined }

type Step = { kind: 'dir'; rel: string; stat: EntryStat } | { kind: 'whiteout'; rel: string };

/** The layer's directory inside the one `writeContextWhiteouts` is given (the writer's root: it holds only this). */
export const WHITEOUT_LAYER = 'layer';

/**
 * Writes, in `<dest>/layer`, the overlay layer that turns the context directory below it into the context COPY reads:
 * a 0/0 whiteout for each entry .dockerignore excludes (one for a whole excluded directory; entries one by one inside
 * a directory a `!` line re-includes part of, kept exactly when walk.ts keeps it), and for each directory on the way
 * to one a directory with the context directory's mode, times and xattrs (ACLs too), as the copy writes it: overlay
 * shows a merged directory's top layer attributes.
 *
 * What the copy shows and an overlay of the live context would not is refused ('unsupported'), never approximated:
 * an entry not owned by 0:0 (the copy writes context files as root's, as BuildKit's context transfer does; overlay
 * would show the owner on the host), a FIFO or device node (the copy makes one of its own, never the host's), a
 * socket (the copy writes an empty file) and a mount point inside the context (overlay shows one filesystem per layer,
 * the walk crosses into submounts).
 */
export async function writeContextWhiteouts(context: FilteredContext, dest: string, signal: AbortSignal): Promise<ContextWhiteouts> {
  // The context path itself may be a link (the walk lists what it leads to, and overlay follows it too).
  const root = statSync(context.path, { bigint: true });
  const steps: Step[] = [];
  const refusal = planDir(context, context.path, '', new PathFilter(context.excludes), root.dev, steps, signal);
  if (typeof refusal === 'string') return { kind: 'unsupported', reason: refusal };
  await RootSession.with(dest, { sourceRoot: context.path }, async (session) => {
    session.base('', 'beneath');
    session.policy('copy');
    session.dir(WHITEOUT_LAYER, false);
    session.meta(dirMeta(root));
    for (const step of steps) {
      const rel = `${WHITEOUT_LAYER}/${step.rel}`;
      if (step.kind === 'whiteout') {
        session.whiteout(rel);
      } else {
        session.dir(rel, false);
        session.xattrsFrom(step.rel);
        session.meta(dirMeta(step.stat));
      }
      await session.flushIfFull();
    }
  });
  return { kind: 'written' };
}

// Owner 0:0 as the copy writes it; mode and times the context's (the writer sets directory times and xattrs last,
// after the entries inside are made).
function dirMeta(stat: EntryStat): { uid: number; gid: number; mode: number; atimeNs: bigint; mtimeNs: bigint } {
  return { uid: 0, gid: 0, mode: Number(stat.mode & 0o7777n), atimeNs: stat.atimeNs, mtimeNs: stat.mtimeNs };
}

/**
 * Plans the layer for the context directory `dirAbs` (`dirRel` in the context) into `out`, directories before their
 * contents. Returns whether anything inside is kept (an excluded directory is shown only then, as walk.ts does), or
 * why the context cannot be an overlay lower.
 */
function planDir(context: FilteredContext, dirAbs: string, dirRel: string, ignore: PathFilter, rootDev: bigint, out: Step[], signal: AbortSignal): boolean | string {
  throwIfAborted(signal);
  const listing = context.memo === undefined ? DirListing.read(dirAbs) : context.memo.list(dirAbs);
  const prefix = dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`;
  let isKept = false;
  for (const { name, stat } of listing) {
    const rel = dirRel === '' ? name : `${dirRel}/${name}`;
    const isIgnored = ignore.excludes(rel);
    if (isIgnored && !(stat.isDirectory() && ignore.mayReincludeBelow(rel))) {
      out.push({ kind: 'whiteout', rel });
      continue;
    }
    // Kept, or an excluded directory a `!` line may reach into: shown (and checked) only if something inside is kept.
    const inner: Step[] = [];
    if (stat.isDirectory()) {
      const innerKept = planDir(context, prefix + name, rel, ignore, rootDev, inner, signal);
      if (typeof innerKept === 'string') return innerKept;
      if (isIgnored && !innerKept) {
        out.push({ kind: 'whiteout', rel });
        continue;
      }
    }
    isKept = true;
    if (stat.uid !== 0n || stat.gid !== 0n) return `${rel} is owned by ${stat.uid}:${stat.gid} (the copy shows context files as 0:0)`;
    if (stat.dev !== rootDev) return `${rel} is on another filesystem than the context (a mount point)`;
    if (stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice()) return `${rel} is a FIFO or a device node`;
    // The copy writes a socket as an empty regular file (tree-writer.ts); overlay would show the socket itself.
    if (!stat.isDirectory() && !stat.isFile() && !stat.isSymbolicLink()) return `${rel} is a socket`;
    if (stat.isDirectory() && inner.length > 0) out.push({ kind: 'dir', rel, stat }, ...inner);
  }
  return isKept;
}
