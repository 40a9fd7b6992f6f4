import { execFile } from 'node:child_process';
import { readFile, rmdir } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import type { Mount } from './snapshotter.js';
import { inRootPath, RootSession } from '../confined/index.js';
import { FUSE_OPAQUE_ENTRIES, snapshotterKind } from '../rootless/index.js';
import { makeTempDir } from '../temp-dirs.js';

/** execFile as a promise: the mount(8)/umount(8)/chattr(1) runs of the snapshotter. */
export const run = promisify(execFile);

// The kernel copies mount options into one page: longer option strings fail with EINVAL. Like containerd, when the
// absolute form does not fit we pass lowerdir/upperdir/workdir relative to their common parent and run mount(8)
// with that parent as its working directory, where the kernel resolves them.
const PAGE_SIZE = 4096;

/** Mounts `mounts` (in order) on `target`. */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  for (const m of mounts) {
    if (m.type === 'bind') await mountBind(m, target);
    else await mountOverlay(m, target);
  }
}

/** Mounts one overlay, switching to short relative directory paths when the options would not fit in a page. */
export async function mountOverlay(mount: Mount, target: string): Promise<void> {
  if (snapshotterKind() === 'fuse-overlayfs') {
    await mountFuseOverlay(mount.options, target);
    return;
  }
  let options = mount.options.join(',');
  let cwd: string | undefined;
  if (options.length >= PAGE_SIZE - 1) {
    const dirs = mount.options.flatMap((o) => dirOption(o)?.dirs ?? []);
    cwd = commonParent(dirs);
    const base = cwd;
    options = mount.options.map((o) => {
      const parsed = dirOption(o);
      return parsed ? `${parsed.key}=${parsed.dirs.map((d) => relative(base, d)).join(':')}` : o;
    }).join(',');
    if (options.length >= PAGE_SIZE - 1) throw new Error(`overlay mount options are ${options.length} bytes even with relative paths`);
  }
  await run('mount', ['-t', 'overlay', '-o', options, mount.source, target], cwd === undefined ? {} : { cwd });
}

/**
 * Mounts an overlay with fuse-overlayfs (worker/rootless/overlay-flavour.ts says when): the same lowerdir, upperdir
 * and workdir options (a lowerdir alone mounts read-only). Its options travel in argv, so the one-page limit of
 * mount(2) data does not apply. It forks its daemon once the mount is in place; `unmount` (umount in this mount
 * namespace) ends it.
 */
export async function mountFuseOverlay(options: string[], target: string): Promise<void> {
  try {
    await run('fuse-overlayfs', ['-o', options.join(','), target]);
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' ? stderr.trim().split('\n').filter((l) => !l.startsWith('unknown argument ignored')).join('; ') : '';
    throw new Error(`fuse-overlayfs on ${target} failed${detail === '' ? '' : `: ${detail}`}`, { cause: err });
  }
}

/** An overlay to mount on `dst`: read-only when it has no upperDir (the RUN helper's shape, worker/exec). */
export interface OverlayTarget { dst: string; lowerDirs: string[]; upperDir?: string | undefined; workDir?: string | undefined }

/**
 * With fuse-overlayfs, mounts each overlay on its `dst` here, in the build's mount namespace, before the RUN helper
 * starts (it then binds the rootfs instead of mounting overlayfs itself: the `premounted` spec flag), and returns
 * what unmounts them again, newest first; undefined with kernel overlayfs, which the helper mounts itself.
 */
export async function premountOverlays(overlays: OverlayTarget[]): Promise<(() => Promise<void>) | undefined> {
  if (snapshotterKind() !== 'fuse-overlayfs') return undefined;
  const mounted: string[] = [];
  const unmountAll = async (): Promise<void> => {
    for (const dst of mounted.splice(0).reverse()) await unmount(dst);
  };
  try {
    for (const o of overlays) {
      const dirs = [`lowerdir=${o.lowerDirs.join(':')}`];
      if (o.upperDir !== undefined && o.workDir !== undefined) dirs.push(`upperdir=${o.upperDir}`, `workdir=${o.workDir}`);
      await mountFuseOverlay(dirs, o.dst);
      mounted.push(o.dst);
    }
  } catch (err) {
    await unmountAll();
    throw err;
  }
  return unmountAll;
}

/**
 * Removes what fuse-overlayfs put inside directories it created at `dirs` (paths in the root of `upperDir`): the
 * markers of its opaque directories, so a mount-target stub made through it is empty again and can go. Through
 * the confined writer: by now a RUN may have made any component a symlink.
 */
export async function removeFuseMarkers(upperDir: string, dirs: string[]): Promise<void> {
  if (snapshotterKind() !== 'fuse-overlayfs' || dirs.length === 0) return;
  await RootSession.with(upperDir, {}, async (session) => {
    for (const dir of dirs) {
      const rel = inRootPath(dir);
      for (const name of FUSE_OPAQUE_ENTRIES) await session.removeStub(rel === '' ? name : `${rel}/${name}`, false);
    }
  });
}

/** Unmounts `target` (lazily detaching is never used: a busy mount is an error the caller must see). */
export async function unmount(target: string): Promise<void> {
  await run('umount', [target]);
}

/**
 * Mounts `mounts` on a new directory in the state root's temp dir `tempDir` (worker/temp-dirs.ts), runs `fn` on it,
 * and always unmounts and removes it. Named `mnt-<pid>-…`: a process killed while something is mounted there leaves
 * it to the next one that opens the root, which unmounts it before it removes the directory (removeDeadTempDirs).
 */
export async function withMounts<T>(mounts: Mount[], tempDir: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir(tempDir, 'mnt');
  let mounted = 0;
  try {
    for (const m of mounts) {
      await mountAll([m], dir);
      mounted++;
    }
    return await fn(dir);
  } finally {
    for (; mounted > 0; mounted--) await unmount(dir);
    // rmdir, never a recursive rm: the mount point is empty once nothing is mounted on it (containerd's WithTempMount
    // uses os.Remove for the same reason: a RemoveAll after a failed unmount deleted the mounted files).
    await rmdir(dir);
  }
}

/** Every mount point in this mount namespace, in the order they were mounted (/proc/self/mountinfo, escapes decoded). */
export async function mountPoints(): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line !== '')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

async function mountBind(mount: Mount, target: string): Promise<void> {
  // mount(8) turns `bind,ro` into a bind followed by a read-only remount.
  await run('mount', ['-o', mount.options.join(','), mount.source, target]);
}

function dirOption(option: string): { key: string; dirs: string[] } | undefined {
  const eq = option.indexOf('=');
  if (eq < 0) return undefined;
  const key = option.slice(0, eq);
  if (key !== 'lowerdir' && key !== 'upperdir' && key !== 'workdir') return undefined;
  return { key, dirs: option.slice(eq + 1).split(':') };
}

function commonParent(paths: string[]): string {
  let common = dirname(paths[0] ?? '/');
  for (const p of paths) {
    while (common !== '/' && !(p + sep).startsWith(common + sep)) common = dirname(common);
  }
  return common;
}
