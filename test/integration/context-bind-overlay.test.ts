import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chown, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { bindCheckReport, hostTree, SUB_MTIME, writeBindContext } from '../fixtures/bind-context.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// A RUN bind mount of a context with a .dockerignore is a read-only overlay of the context directory under a layer of
// whiteouts (worker/context-mount.ts), where it was a filtered copy of the whole context per step. What the step sees
// must be what the copy showed: nothing excluded (by name, through a link inside the context, through a directory
// link), what a `!` line re-includes, directories with their mode and mtime, files owned by 0:0. And the context is
// the user's directory while the step is hostile: a `ro` bind refuses every write with EROFS, a `rw` bind's writes
// land in a throwaway upper dir, and the host context is byte for byte what it was (check.sh: test/fixtures).

describe('RUN --mount=type=bind of a context with .dockerignore: an overlay of the context, never written', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-bindctx-');
  });
  after(async () => {
    await env?.stop();
  });

  /** Builds a fresh check context (`prepare` changes it first) with --no-cache; returns the output and the host tree before and after. */
  const buildChecked = async (prepare: (ctx: string) => Promise<void>, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string; before: string[]; after: string[] }> => {
    if (env === undefined) throw new Error('build env did not start');
    const ctx = join(env.dir, `ctx${++n}`);
    await mkdir(ctx);
    await writeBindContext(ctx, env.base, true);
    await prepare(ctx);
    const before = await hostTree(ctx);
    const root = join(env.dir, `root${n}`);
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--no-cache', ctx], { env: extraEnv });
    // The build's whiteout layers (and the steps' state dirs) are gone with it.
    expect(await readdir(join(root, 'tmp'))).to.deep.equal([]);
    return { code: r.code, stderr: r.stderr, before, after: await hostTree(ctx) };
  };

  const expectChecksPassed = (r: { code: number; stderr: string; before: string[]; after: string[] }, roMountType: RegExp, aclProbe = '664'): void => {
    expect(r.code, r.stderr).to.equal(0);
    const report = bindCheckReport(r.stderr);
    expect(report.passed, r.stderr).to.deep.equal(['ro', 'rw', 'after']);
    // What the ro steps mount (a rw bind is an overlay either way: its writes go to an upper dir of the step's).
    for (const t of report.roMountTypes) expect(t).to.match(roMountType);
    // The directory the whiteout layer holds a copy of shows the context's mode and mtime, and root as its owner.
    expect(report.subMeta).to.deep.equal(Array(3).fill(`750 ${SUB_MTIME} 0:0`));
    expect(report.owners).to.deep.equal(['0:0', '0:0', '0:0']);
    // secrets/'s default ACL (an xattr of a directory the whiteout layer holds) shapes what the rw step creates in it.
    expect(report.aclProbe).to.deep.equal([aclProbe]);
    expect(r.after).to.deep.equal(r.before);
  };

  it('mounts kernel overlayfs over the context itself (no copy): excluded files stay hidden, writes never reach the host', async () => {
    const r = await buildChecked(async () => undefined);
    expectChecksPassed(r, /^overlay$/);
  });

  it('does the same with fuse-overlayfs (TSBUILD_SNAPSHOTTER=fuse-overlayfs)', async () => {
    const r = await buildChecked(async () => undefined, { TSBUILD_SNAPSHOTTER: 'fuse-overlayfs' });
    // fuse-overlayfs creates files itself and applies no default ACL, in any directory (a rootfs one too): 0644.
    expectChecksPassed(r, /^fuse\.fuse-overlayfs$/, '644');
  });

  it('copies the filtered context instead when the overlay would show something else: a file not owned by root, a FIFO', async () => {
    // The copy writes context files as 0:0 (BuildKit's context transfer resets owners); overlay would show 1000:1000.
    const owned = await buildChecked(async (ctx) => { await chown(join(ctx, 'keep.txt'), 1000, 1000); });
    expectChecksPassed(owned, /^(?!overlay|fuse\.)\S+$/);
    expect(owned.stderr).to.contain('the context is copied for its bind mount (not overlaid: keep.txt is owned by 1000:1000');
    // A FIFO in the context would be the host's own pipe under an overlay; the copy makes one of its own.
    const fifo = await buildChecked(async (ctx) => { execFileSync('mkfifo', [join(ctx, 'pipe')]); });
    expectChecksPassed(fifo, /^(?!overlay|fuse\.)\S+$/);
    expect(fifo.stderr).to.contain('(not overlaid: pipe is a FIFO or a device node)');
  });

  it('copies it too when overlay refuses the context directory as a lower layer (a context two overlays deep)', async () => {
    if (env === undefined) throw new Error('build env did not start');
    // overlayfs stacks at most two deep (FILESYSTEM_MAX_STACK_DEPTH): a context on an overlay of an overlay (say, a
    // checkout inside a container inside a container) cannot be a lower layer of one more.
    const base = join(env.dir, `stacked${++n}`);
    const [files, empty1, empty2, first, second] = ['files', 'e1', 'e2', 'first', 'second'].map((d) => join(base, d)) as [string, string, string, string, string];
    for (const d of [files, empty1, empty2, first, second]) await mkdir(d, { recursive: true });
    await writeBindContext(files, env.base, true);
    const before = await hostTree(files);
    execFileSync('mount', ['-t', 'overlay', '-o', `lowerdir=${empty1}:${files}`, 'overlay', first]);
    try {
      execFileSync('mount', ['-t', 'overlay', '-o', `lowerdir=${empty2}:${first}`, 'overlay', second]);
      try {
        const r = await tsbuild(['build', '--root', join(env.dir, `root${n}`), '--progress', 'plain', '--no-cache', second]);
        expectChecksPassed({ ...r, before, after: await hostTree(second) }, /^(?!overlay|fuse\.)\S+$/);
        expect(r.stderr).to.contain('(not overlaid: overlay does not take the context directory as a lower layer');
      } finally {
        execFileSync('umount', [second]);
      }
    } finally {
      execFileSync('umount', [first]);
    }
  });
});
