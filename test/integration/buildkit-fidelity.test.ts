import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { packTar } from '../fixtures/pack-tar.js';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { copyToLayout, inspectConfig, layerEntries, layoutBlobs, unpackLayout, type LayerEntry } from './realworld-image.js';

// What real-world Dockerfiles showed when built with tsbuild and buildah side by side, judged against BuildKit's
// sources (moby/buildkit dockerfile2llb, tonistiigi/fsutil copy): each case states what BuildKit does, and failed on
// tsbuild until it did the same.

interface HistoryEntry { created_by?: string; empty_layer?: boolean }

/** `xa set PATH NAME VALUE` / `xa get PATH NAME` in a RUN step: busybox has no setfattr; built static by the test. */
const XATTR_TOOL = `#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int argc, char **argv) {
  char v[4096];
  if (argc == 5 && strcmp(argv[1], "set") == 0) return setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) != 0;
  if (argc != 4 || strcmp(argv[1], "get") != 0) return 2;
  ssize_t n = getxattr(argv[2], argv[3], v, sizeof v);
  if (n < 0) { puts("(none)"); return 0; }
  printf("%.*s\\n", (int)n, v);
  return 0;
}
`;

describe('real-world Dockerfiles build as BuildKit builds them', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let base: string;
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-bkfidelity-');
    ({ dir, base } = env);
  });
  after(async () => {
    await env?.stop();
  });

  /** Writes a context (Dockerfile + files), builds it to an OCI tarball; returns the result and the tarball path. */
  const build = async (dockerfile: string, files: Record<string, string> = {}, extra: string[] = [], ctxDir?: string): Promise<{ code: number; stderr: string; tar: string; ctx: string }> => {
    const ctx = ctxDir ?? join(dir, `ctx${++n}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', base));
    for (const [p, content] of Object.entries(files)) {
      await mkdir(join(ctx, p, '..'), { recursive: true });
      await writeFile(join(ctx, p), content);
    }
    const tar = join(dir, `out${n}.tar`);
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--provenance=false', ...extra, '-o', `type=oci,dest=${tar}`, ctx]);
    return { code: r.code, stderr: r.stderr, tar, ctx };
  };

  /** A new context directory holding `files` (bytes as given); the Dockerfile is written by build(). */
  const contextWith = async (files: Record<string, Buffer>): Promise<string> => {
    const ctx = join(dir, `ctx${++n}`);
    await mkdir(ctx, { recursive: true });
    for (const [p, content] of Object.entries(files)) await writeFile(join(ctx, p), content);
    return ctx;
  };

  /** Every layer entry of the image, later layers last (name without a leading './'). */
  const entries = async (tar: string): Promise<LayerEntry[]> => {
    const layout = await copyToLayout(`oci-archive:${tar}`, join(dir, `layout${++n}`));
    const { layers } = await layoutBlobs(layout);
    const all: LayerEntry[] = [];
    for (const l of layers) all.push(...(await layerEntries(l)).map((e) => ({ ...e, name: e.name.replace(/^\.\//, '').replace(/\/$/, '') })));
    return all;
  };
  const last = (all: LayerEntry[], name: string): LayerEntry | undefined => all.filter((e) => e.name === name).at(-1);

  it('COPY with a wildcard source that matches nothing succeeds (the `COPY package.json yarn.lock* ./` idiom)', async () => {
    // BuildKit sets AllowWildcard + AllowEmptyWildcard on every COPY source (dockerfile2llb convert_copy.go): a
    // wildcard matching nothing copies nothing. Next.js' and Docker's Node examples rely on it for optional lockfiles.
    const r = await build('FROM BASE\nWORKDIR /app\nCOPY package.json yarn.lock* package-lock.json* ./\n', { 'package.json': '{}\n' });
    expect(r.code, r.stderr).to.equal(0);
    const all = await entries(r.tar);
    expect(last(all, 'app/package.json')?.type).to.equal('file');
  });

  it('COPY --parents understands ** (zero or more directories), and a wildcard matching nothing is not an error', async () => {
    // --parents copies "/" with IncludePatterns [pattern] (moby patternmatcher: `**/` is `(.*/)?`), no required paths.
    const files = { 'pkg/top.json': '1', 'pkg/c/y.json': '2', 'pkg/a/b/x.json': '3', 'src/x/y/z.go': 'package z', 'docs/readme.md': 'd' };
    const r = await build('FROM BASE\nCOPY --parents pkg/**/*.json /p1/\nCOPY --parents **/*.go /p2/\nCOPY --parents docs/** nothing/**/*.x /p3/\n', files);
    expect(r.code, r.stderr).to.equal(0);
    const names = (await entries(r.tar)).map((e) => e.name);
    expect(names).to.include.members(['p1/pkg/top.json', 'p1/pkg/c/y.json', 'p1/pkg/a/b/x.json', 'p2/src/x/y/z.go', 'p3/docs/readme.md']);
    expect(names.filter((n) => n.startsWith('p2/')).sort()).to.deep.equal(['p2/src', 'p2/src/x', 'p2/src/x/y', 'p2/src/x/y/z.go']);
  });

  it('COPY --parents makes the directories it keeps from their sources: their modes and owners, then --chown and --chmod', async () => {
    // dispatchCopy: --parents copies "/" (or the /./ pivot) with IncludePatterns [source]. fsutil copy.go: a directory
    // on the way to a match is made when something under it matches (createParentDirs → copyDirectoryOnly mkdir, then
    // copyFileInfo: --chown or the source's owner (context: 0:0), the source's mode or what --chmod makes of it, octal
    // exactly). An existing one is only chmod'ed to its source's mode (copyDirectoryOnly with overwriteTargetMetadata),
    // owner kept, --chmod not applied. The destination's own new parents are MkdirAll's: 0755 (octal --chmod's), --chown.
    const ctx = await contextWith({});
    const tree: [string, number][] = [['a', 0o700], ['a/b', 0o750], ['x', 0o711], ['x/p', 0o770], ['x/p/q', 0o755], ['x/nogo', 0o700]];
    for (const [d] of tree) await mkdir(join(ctx, d));
    for (const f of ['a/b/c.txt', 'x/top.go', 'x/p/q/m.go', 'x/nogo/readme']) await writeFile(join(ctx, f), f);
    for (const [d, m] of tree) await chmod(join(ctx, d), m);
    const old = new Date('2001-02-03T04:05:06Z');
    await utimes(join(ctx, 'a'), old, old);
    const dockerfile = ['FROM BASE AS st',
      'RUN mkdir -p /s/d/e && touch /s/d/e/f && chown 7:8 /s/d && chmod 705 /s/d && chmod 751 /s/d/e',
      'FROM BASE',
      'RUN mkdir -p /ex/a && chmod 777 /ex/a && chown 5:6 /ex/a',
      'COPY --parents a/b/c.txt /dst/',
      'COPY --parents ./x/**/*.go /go/',
      'COPY --parents --chown=1000:1001 a/b/c.txt /own/',
      'COPY --parents --chmod=777 a/b/c.txt /oct/',
      'COPY --parents --chmod=g+w a/b/c.txt /sym/',
      'COPY --parents --chmod=640 a/b/c.txt /ex/',
      'COPY --from=st --parents /s/d/e/f /st/',
      ''].join('\n');
    const image = async (): Promise<string> => {
      const r = await build(dockerfile, {}, [], ctx);
      expect(r.code, r.stderr).to.equal(0);
      return await unpackLayout(await copyToLayout(`oci-archive:${r.tar}`, join(dir, `layout${++n}`)), join(dir, `bundle${++n}`));
    };
    const entryOf = async (rootfs: string, p: string): Promise<string> => {
      const st = await lstat(join(rootfs, p)).catch(() => undefined);
      return st === undefined ? 'absent' : `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    };
    const rootfs = await image();
    const want: Record<string, string> = {
      'dst': '755 0:0', 'dst/a': '700 0:0', 'dst/a/b': '750 0:0', 'dst/a/b/c.txt': '644 0:0',
      'go/x': '711 0:0', 'go/x/p': '770 0:0', 'go/x/p/q': '755 0:0', 'go/x/nogo': 'absent',
      'own': '755 1000:1001', 'own/a': '700 1000:1001', 'own/a/b': '750 1000:1001',
      'oct/a': '777 0:0', 'oct/a/b': '777 0:0', 'oct/a/b/c.txt': '777 0:0',
      'sym': '755 0:0', 'sym/a': '720 0:0', 'sym/a/b': '770 0:0', 'sym/a/b/c.txt': '664 0:0',
      'ex/a': '700 5:6', 'ex/a/b': '640 0:0',
      'st/s': '755 0:0', 'st/s/d': '705 7:8', 'st/s/d/e': '751 0:0',
    };
    const modes: Record<string, string> = {};
    for (const p of Object.keys(want)) modes[p] = await entryOf(rootfs, p);
    expect(modes).to.deep.equal(want);
    // Not the source's times: copyFileInfo sets them, then making b in a bumps a's mtime to the time of the copy.
    expect((await lstat(join(rootfs, 'dst/a'))).mtimeMs).to.be.above(old.getTime());
    // A kept directory is part of the COPY's content key (BuildKit's checksum has the parents' headers): a new mode
    // in the context is a new result, not a cache hit.
    await chmod(join(ctx, 'a'), 0o755);
    expect(await entryOf(await image(), 'dst/a')).to.equal('755 0:0');
  });

  it('a directory COPY creates its top-level destination 0755, not with the source directory\'s mode', async () => {
    // fsutil copy: prepareTargetDir / Copy() MkdirAll the destination with defaultDirectoryMode (0755, or the numeric
    // --chmod) before copying; the existing top-level directory's metadata is then left alone (only nested
    // directories get the source's mode). A context made by `mktemp -d` is 0700: BuildKit's /app is still 0755.
    const ctx = await mkdtemp(join(dir, 'mktemp-'));
    await mkdir(join(ctx, 'src/sub'), { recursive: true });
    await writeFile(join(ctx, 'src/sub/a'), 'a');
    await chmod(join(ctx, 'src'), 0o775);
    await chmod(join(ctx, 'src/sub'), 0o775);
    await chmod(ctx, 0o700);
    const r = await build('FROM BASE\nCOPY . /app\nCOPY src /nosl/src\nCOPY src /sl/src/\n', {}, [], ctx);
    expect(r.code, r.stderr).to.equal(0);
    const all = await entries(r.tar);
    const mode = (p: string): string => ((last(all, p)?.mode ?? -1) & 0o7777).toString(8);
    expect({ app: mode('app'), nosl: mode('nosl/src'), sl: mode('sl/src'), nested: mode('nosl/src/sub') })
      .to.deep.equal({ app: '755', nosl: '755', sl: '755', nested: '775' });
  });

  it('ARG history shows the value the build used: the --build-arg value wins over the Dockerfile default', async () => {
    // dispatchArg: arg.Value = buildArgValues[key] when given, then commitStr = key + "=" + *arg.Value.
    const r = await build('FROM BASE\nARG VER=1.0\nARG NOTE\nRUN true\n', {}, ['--build-arg', 'VER=2.0', '--build-arg', 'NOTE=x']);
    expect(r.code, r.stderr).to.equal(0);
    const history = (await inspectConfig(`oci-archive:${r.tar}`))['history'] as HistoryEntry[];
    expect(history.map((h) => h.created_by)).to.include.members(['ARG VER=2.0', 'ARG NOTE=x']);
  });

  it('MAINTAINER sets the image config\'s author', async () => {
    // dispatchMaintainer: d.image.Author = c.Maintainer.
    const r = await build('FROM BASE\nMAINTAINER Jane Doe <jane@example.com>\n');
    expect(r.code, r.stderr).to.equal(0);
    expect((await inspectConfig(`oci-archive:${r.tar}`))['author']).to.equal('Jane Doe <jane@example.com>');
  });

  it('a COPY onto an existing symlink writes through it to its target inside the root, and keeps the link', async () => {
    // fsutil copy.Copy resolves the destination with continuity's fs.RootPath, which follows every symlink, the last
    // component too, inside the root: `COPY tz /etc/localtime` rewrites the zone file, and /etc/localtime stays a link.
    // A link pointing up and out (../../..) lands inside the root, never on the host.
    const marker = `tsbuild-through-${process.pid}-${n}`;
    const r = await build(['FROM BASE',
      'RUN mkdir -p /usr/share/zoneinfo /data && echo utc > /usr/share/zoneinfo/UTC && ln -s /usr/share/zoneinfo/UTC /etc/localtime'
        + ` && ln -s ../../../../../../../${marker} /etc/up && ln -s /data/cfg /etc/cfg && ln -s /etc/cfg /etc/chain`,
      'COPY tz /etc/localtime',
      'COPY tz /etc/up',
      'COPY tz /etc/chain',
      'COPY <<EOT /etc/cfg2',
      'heredoc',
      'EOT',
      `RUN test "$(cat /usr/share/zoneinfo/UTC)" = tz && test "$(cat /${marker})" = tz && test "$(cat /data/cfg)" = tz`,
      ''].join('\n'), { tz: 'tz' });
    expect(r.code, r.stderr).to.equal(0);
    const all = await entries(r.tar);
    for (const link of ['etc/localtime', 'etc/up', 'etc/chain', 'etc/cfg']) expect(last(all, link)?.type, link).to.equal('symlink');
    for (const file of ['usr/share/zoneinfo/UTC', marker, 'data/cfg', 'etc/cfg2']) expect(last(all, file)?.type, file).to.equal('file');
    expect(existsSync(`/${marker}`)).to.equal(false);
  });

  it('WORKDIR creates its directory for USER as BuildKit\'s Mkdir WithUser: a numeric user is also the gid, `user:` is gid 0', async () => {
    // readUser (solver/llbsolver/ops/user_linux.go): ByID sets UID and GID to the number; WithUser("1234:") makes an
    // empty group name, which marshals as ByID 0.
    const r = await build('FROM BASE\nUSER 1234\nWORKDIR /w1\nUSER 1234:\nWORKDIR /w2\nUSER 1234:77\nWORKDIR /w3\n');
    expect(r.code, r.stderr).to.equal(0);
    const all = await entries(r.tar);
    expect(['w1', 'w2', 'w3'].map((d) => { const e = last(all, d); return [e?.uid, e?.gid]; })).to.deep.equal([[1234, 1234], [1234, 0], [1234, 77]]);
  });

  it('ADD --unpack=false copies a local archive as a file, --unpack=true extracts a downloaded one; --chmod leaves an archive\'s modes alone', async () => {
    // dispatchCopy: unpack defaults to isAddCommand and --unpack overrides it, for local sources (AttemptUnpack…) and
    // http ones (AttemptUnpack: unpack); the backend's unpack untars with the chown options only, never the mode.
    const archive = gzipSync(await packTar([{ name: 't.txt', type: 'file', mode: 0o644, content: 't\n' }]));
    const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/gzip' }); res.end(archive); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/arch.tar.gz`;
      const r = await build(['FROM BASE', 'ADD --unpack=false arch.tar.gz /nounpack/', `ADD --unpack=true ${url} /ru/`, `ADD ${url} /plain/`,
        'ADD --chmod=700 arch.tar.gz /chm/', 'COPY --chmod=751 arch.tar.gz /cm/a/b/x', 'COPY --chmod=777 arch.tar.gz /open/a/x', ''].join('\n'), {}, [], await contextWith({ 'arch.tar.gz': archive }));
      expect(r.code, r.stderr).to.equal(0);
      const all = await entries(r.tar);
      expect(last(all, 'nounpack/arch.tar.gz')?.type).to.equal('file');
      expect(last(all, 'nounpack/t.txt')).to.equal(undefined);
      expect(last(all, 'ru/t.txt')?.type).to.equal('file');
      expect(last(all, 'plain/arch.tar.gz')?.type).to.equal('file');
      expect((last(all, 'chm/t.txt')?.mode ?? 0) & 0o7777).to.equal(0o644);
      // An octal --chmod is also the mode of the parents the COPY creates (fsutil Copy: MkdirAll with CopyInfo.Mode).
      expect(['cm', 'cm/a', 'cm/a/b', 'cm/a/b/x'].map((p) => (last(all, p)?.mode ?? 0) & 0o7777)).to.deep.equal([0o751, 0o751, 0o751, 0o751]);
      // Exactly, no umask: fsutil's MkdirAll chmods each directory it makes to the mode (moby/buildkit#6801, fixed in
      // the fsutil BuildKit vendors since 2026-07).
      expect(['open', 'open/a', 'open/a/x'].map((p) => (last(all, p)?.mode ?? 0) & 0o7777)).to.deep.equal([0o777, 0o777, 0o777]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a RUN bind mount of the context leaves out what .dockerignore excludes, as COPY does (dockerui: the same filtered context)', async () => {
    const r = await build(['FROM BASE',
      'RUN --mount=type=bind,target=/ctx test -e /ctx/keep.txt && test ! -e /ctx/token.secret && test ! -e /ctx/sub/skip.txt && test -e /ctx/sub/keep.txt && cat /ctx/keep.txt',
      'RUN --mount=type=bind,source=sub,target=/sub test ! -e /sub/skip.txt && test -e /sub/keep.txt',
      ''].join('\n'), { 'keep.txt': 'kept\n', 'token.secret': 'hunter2\n', 'sub/skip.txt': 'x', 'sub/keep.txt': 'y', '.dockerignore': '*.secret\nsub/skip.txt\n' });
    expect(r.code, r.stderr).to.equal(0);
  });

  it('a RUN can open /dev/stdout and /dev/stderr (its output streams are pipes, as runc is handed them), and its output reaches the log', async () => {
    const r = await build(['FROM BASE',
      'RUN echo to-stdout-dev > /dev/stdout && echo to-stderr-dev > /dev/stderr && echo via-tee | tee /dev/stderr > /dev/null && test -p /proc/self/fd/1',
      ''].join('\n'));
    expect(r.code, r.stderr).to.equal(0);
    for (const line of ['to-stdout-dev', 'to-stderr-dev', 'via-tee']) expect(r.stderr).to.include(line);
  });

  it('COPY and COPY --from keep a file\'s xattrs, so a setcap\'d binary keeps its capability (fsutil copyXAttrs after chown)', async () => {
    const ctx = await contextWith({});
    await copyFile('/bin/true', join(ctx, 'binder'));
    const cap = await run('setcap', ['cap_net_bind_service=+ep', join(ctx, 'binder')]);
    expect(cap.code, `setcap (libcap2-bin, scripts/setup.sh): ${cap.stderr}`).to.equal(0);
    const r = await build(['FROM BASE AS src', 'COPY binder /usr/local/bin/binder', 'FROM BASE', 'COPY --from=src --chown=1000:1000 /usr/local/bin/binder /b1',
      'COPY --from=src /usr/local/bin/ /bindir/', ''].join('\n'), {}, [], ctx);
    expect(r.code, r.stderr).to.equal(0);
    // umoci applies the layers' SCHILY.xattr records as root: getcap reads what a container would get.
    const layout = await copyToLayout(`oci-archive:${r.tar}`, join(dir, `layout${++n}`));
    const bundle = join(dir, `bundle${++n}`);
    const unpack = await run('umoci', ['unpack', '--image', `${layout}:x`, bundle]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    for (const file of ['b1', 'bindir/binder']) {
      const got = await run('getcap', [join(bundle, 'rootfs', file)]);
      expect(got.stdout, file).to.contain('cap_net_bind_service=ep');
    }
  });

  it('COPY keeps a directory\'s xattrs and ACLs, set after its contents: a later RUN sees them (fsutil copyDirectory, copyXAttrs)', async () => {
    // fsutil's copy sets every copied entry's xattrs after its owner and mode (copyFileInfo, then copyXAttrs with
    // lgetxattr/lsetxattr), a directory's once its contents are copied; the context transfer carries a directory's
    // (fsutil Stat). BuildKit's layers keep only security.capability, so what shows is what a later RUN sees: the
    // xattr, and a default ACL's effect on what the RUN creates (umask ignored: 0664), not on the copied files.
    const ctx = await contextWith({ 'xa.c': Buffer.from(XATTR_TOOL) });
    const cc = await run('cc', ['-static', '-O2', '-o', join(ctx, 'xa'), join(ctx, 'xa.c')]);
    expect(cc.code, `cc -static (gcc, libc6-dev: scripts/setup.sh): ${cc.stderr}`).to.equal(0);
    await mkdir(join(ctx, 'a/sub'), { recursive: true });
    await writeFile(join(ctx, 'a/sub/f'), 'f');
    const attr = await run('setfattr', ['-n', 'user.k', '-v', 'ctx-value', join(ctx, 'a/sub')]);
    expect(attr.code, `setfattr (attr, scripts/setup.sh): ${attr.stderr}`).to.equal(0);
    const acl = await run('setfacl', ['-d', '-m', 'u:1000:rwx', join(ctx, 'a/sub')]);
    expect(acl.code, `setfacl (acl, scripts/setup.sh): ${acl.stderr}`).to.equal(0);
    const r = await build(['FROM BASE AS st',
      'COPY xa /xa',
      'RUN mkdir -p /s/d/e && /xa set /s/d user.r run-value && touch /s/d/e/f',
      'FROM BASE',
      'COPY xa /xa',
      'COPY a /ctx/',
      'COPY --from=st /s /st/',
      'RUN umask 022 && touch /ctx/sub/new && { /xa get /ctx/sub user.k; /xa get /st/d user.r;'
        + ' for f in f new; do /xa get /ctx/sub/$f system.posix_acl_access | grep -qx "(none)" && echo $f: no ACL || echo $f: ACL; done; ls -ln /ctx/sub; } > /out',
      ''].join('\n'), {}, [], ctx);
    expect(r.code, r.stderr).to.equal(0);
    const rootfs = await unpackLayout(await copyToLayout(`oci-archive:${r.tar}`, join(dir, `layout${++n}`)), join(dir, `bundle${++n}`));
    const [k, rv, fAcl, newAcl, , ...listing] = (await readFile(join(rootfs, 'out'), 'utf8')).trim().split('\n');
    expect([k, rv]).to.deep.equal(['ctx-value', 'run-value']);
    // The copied file was made before its directory had the default ACL; the RUN's file inherits it.
    expect([fAcl, newAcl]).to.deep.equal(['f: no ACL', 'new: ACL']);
    const modes = Object.fromEntries(listing.map((l) => l.split(/\s+/)).map((f) => [f.at(-1), f[0]]));
    expect(modes).to.deep.equal({ f: '-rw-r--r--', new: '-rw-rw-r--' });
  });

  it('COPY of a directory .dockerignore excludes while a `!` line keeps something in it copies what is kept, keyed by it alone', async () => {
    // fsutil's walker sends an excluded directory as the parent of every entry a `!` pattern keeps, with only those
    // entries (filter.go, parentDirs): BuildKit's context then has a/ (its own mode) and a/keep.txt, and every COPY
    // reads that. A file the `!` lines do not keep stays missing.
    const files = { '.dockerignore': 'a\n!a/keep.txt\n', 'a/keep.txt': 'kept', 'a/drop.txt': 'dropped', 'a/sub/s.txt': 's', 'ab/x.txt': 'x' };
    const dockerfile = ['FROM BASE', 'COPY a/ /slash/', 'COPY a /plain/', 'COPY a/keep.txt /one', 'COPY a* /glob/', 'COPY --parents **/keep.txt /par/', ''].join('\n');
    const r = await build(dockerfile, files);
    expect(r.code, r.stderr).to.equal(0);
    const names = (await entries(r.tar)).map((e) => e.name).filter((name) => /^(slash|plain|one|glob|par)(\/|$)/.test(name)).sort();
    expect(names).to.deep.equal(['glob', 'glob/keep.txt', 'glob/x.txt', 'one', 'par', 'par/a', 'par/a/keep.txt', 'plain', 'plain/keep.txt', 'slash', 'slash/keep.txt']);
    const missing = await build('FROM BASE\nCOPY a/drop.txt /x\n', files);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('"a/drop.txt" not found in build context');
    // The key has what is copied: a change to an entry left out keeps the step cached, one to the kept file does not.
    const ctx = r.ctx;
    const again = async (): Promise<string> => {
      const b = await build('FROM BASE\nCOPY a/ /slash/\n', {}, [], ctx);
      expect(b.code, b.stderr).to.equal(0);
      return b.stderr;
    };
    await again();
    await writeFile(join(ctx, 'a/drop.txt'), 'changed');
    await writeFile(join(ctx, 'a/sub/s.txt'), 'changed');
    expect(await again()).to.match(/COPY a\/ \/slash\/\n#\d+ CACHED/);
    await writeFile(join(ctx, 'a/keep.txt'), 'changed');
    expect(await again()).not.to.match(/COPY a\/ \/slash\/\n#\d+ CACHED/);
  });

  it('warns InvalidBaseImagePlatform when the base image is not of the platform asked for, and # check=skip= drops it', async () => {
    const r = await build('FROM BASE\nENV A=1\n', {}, ['--platform', 'windows/amd64']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/Dockerfile:1: warning: InvalidBaseImagePlatform: Base image \S+ was pulled with platform "linux\/amd64", expected "windows\/amd64" for current build/);
    const skipped = await build('# check=skip=InvalidBaseImagePlatform\nFROM BASE\nENV A=1\n', {}, ['--platform', 'windows/amd64']);
    expect(skipped.code, skipped.stderr).to.equal(0);
    expect(skipped.stderr).not.to.contain('InvalidBaseImagePlatform');
    const native = await build('FROM BASE\nENV A=1\n');
    expect(native.stderr).not.to.contain('InvalidBaseImagePlatform');
  });

  it('a COPY onto a symlink loop, or onto a link whose target has no directory, fails naming the destination', async () => {
    const loop = await build('FROM BASE\nRUN ln -s loop1 /etc/loop2 && ln -s loop2 /etc/loop1\nCOPY tz /etc/loop1\n', { tz: 'tz' });
    expect(loop.code).to.equal(1);
    expect(loop.stderr).to.include('Dockerfile:3: cannot copy to /etc/loop1: too many levels of symbolic links');
    const dangling = await build('FROM BASE\nRUN ln -s /nowhere/f /etc/dangling\nCOPY tz /etc/dangling\n', { tz: 'tz' });
    expect(dangling.code).to.equal(1);
    expect(dangling.stderr).to.include("Dockerfile:3: cannot copy to /etc/dangling: it is a symlink whose target's directory does not exist in the image");
  });

});
