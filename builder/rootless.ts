// Rootless tsbuild (issue 20), the `buildah unshare` model: an unprivileged user's `tsbuild build` re-executes the
// whole CLI as uid 0 of a new user namespace (with its own mount namespace), mapped through newuidmap/newgidmap:
// namespace id 0 = the user, 1..N = the user's first /etc/subuid (/etc/subgid) range. Everything downstream then
// runs unchanged and sees itself as root there: overlay mounts (Linux >= 5.11), the confined writer's fchown to
// uid 1000 (a subordinate id on the host), the RUN helper's namespaces and pivot_root, slirp4netns. Layer export
// lstat()s files from inside, so a file owned by 1000 in the image is 1000 in the tar whatever the host ids are.
//
// Why the whole CLI rather than entering the namespace per operation (as rootlesskit's child or a setns per mount
// would): every privileged step (mount, chown, mknod of whiteouts, the RUN helper, cleanup of dead mounts) would
// need its own entry point and the mount namespace would have to be kept alive by a holder process; re-exec'ing
// once keeps one code path for rootful and rootless. Nothing is lost by it: the network namespace is not unshared,
// so registry pulls and pushes, DNS and proxies work exactly as outside, and HOME/XDG_* (hence ~/.docker/config.json
// and $XDG_DATA_HOME/tsbuild) are the user's own.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as osConstants, release, userInfo } from 'node:os';
import { join } from 'node:path';
import { checkUserNamespaces, firstSubordinateRange, isInUserNamespace, probeFuseOverlay, probeOverlay, rootlessUnavailable, SNAPSHOTTER_ENV, snapshotterKind } from '../worker/index.js';
import type { IdRange } from '../worker/index.js';
import { defaultRoot } from './options/root.js';

/**
 * Commands that open a state root, and so may read or remove snapshots (files owned by subordinate ids, mounts): they
 * run inside the namespace. `push` exports layers from snapshots, `bake` and `debug build` build, opening a root
 * recovers it.
 */
const NAMESPACED_COMMANDS = new Set(['build', 'bake', 'debug', 'plan', 'history', 'du', 'prune', 'report', 'explain', 'context', 'push']);
/** Set in the re-executed child so it knows its ids came from this re-exec (and prints what it uses). */
const CHILD_ENV = 'TSBUILD_ROOTLESS';

/** True in the CLI re-executed inside the namespace. */
export function isRootlessChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

/** A rootless child takes the same signal again within this many ms as the echo of the first (reexec passes it on). */
export const ECHO_MS = 300;
/** Fewer subordinate ids than this and common images (nobody = 65534) do not fit. */
const RECOMMENDED_IDS = 65536;

function findProgram(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const path = join(dir, name);
    if (dir !== '' && existsSync(path)) return path;
  }
  return undefined;
}

function readOptional(file: string): string | undefined {
  try { return readFileSync(file, 'utf8'); } catch { return undefined; }   // absent: no ranges, no such limit
}

function rangesOf(file: string, name: string, id: number): IdRange {
  return firstSubordinateRange(file, readOptional(file) ?? '', name, id);
}

function commandOf(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/**
 * When this unprivileged process runs a command that needs the namespace, runs this same CLI in it and resolves to
 * its exit status; resolves undefined when the command should run here (as root, already inside, or a command that
 * needs no privilege). Throws ROOTLESS_UNAVAILABLE when rootless mode is not available (user namespaces off, no subordinate ids, no
 * newuidmap).
 */
export async function runRootless(args: string[]): Promise<number | undefined> {
  const uid = process.getuid?.();
  const command = commandOf(args);
  if (uid === 0) {
    if (isRootlessChild() && isInUserNamespace() && (command === 'build' || command === 'debug')) await describeNamespace(args);
    return undefined;
  }
  if (uid === undefined || command === undefined || !NAMESPACED_COMMANDS.has(command)) return undefined;
  const user = userInfo();
  const gid = process.getgid?.() ?? user.gid;
  checkUserNamespaces(readOptional('/proc/sys/user/max_user_namespaces'), readOptional('/proc/sys/kernel/unprivileged_userns_clone'));
  const subuid = rangesOf('/etc/subuid', user.username, uid);
  const subgid = rangesOf('/etc/subgid', user.username, uid);
  for (const program of ['unshare', 'newuidmap', 'newgidmap']) {
    if (findProgram(program) === undefined) {
      throw rootlessUnavailable(`${program} is not installed`, 'install util-linux and uidmap (apt-get install uidmap), or run make setup');
    }
  }
  checkRootIds(rootOf(args), subuid, subgid);
  return reexec(uid, gid, subuid, subgid);
}

/** The file in a rootless state root that names the subordinate ids its snapshots' owners were written with. */
const IDS_FILE = 'rootless-ids';

/**
 * A rootless root's snapshots keep their owners as host ids (the namespace's uid 1000 is the first subordinate id +
 * 999). Under another /etc/subuid range every one of them would show as the overflow id 65534: cached steps would
 * hit and give layers owned by 65534 (a COPY --from of a cached stage), a RUN on one would fail on permissions, and
 * the user could not remove them. So the range a root was first used with is written in it, and another is refused.
 * BuildKit's rootless mode does not check this; podman has `system migrate` for it.
 */
function checkRootIds(root: string, subuid: IdRange, subgid: IdRange): void {
  const now = `uid ${subuid.start} ${subuid.count} gid ${subgid.start} ${subgid.count}\n`;
  const file = join(root, IDS_FILE);
  const recorded = readOptional(file);
  if (recorded === undefined) {
    try {
      mkdirSync(root, { recursive: true, mode: 0o700 });
      writeFileSync(file, now, { flag: 'wx', mode: 0o644 });
    } catch {
      // Not ours to write (another user's root, a read-only one): the command inside says what is wrong with it.
    }
    return;
  }
  if (recorded === now) return;
  throw rootlessUnavailable(`the state root ${root} was written with other subordinate ids (${recorded.trim()}) than /etc/subuid and /etc/subgid give now (${now.trim()}): its cached files would be owned by nobody (65534)`,
    `use a new --root, or restore the old ranges; the old root can then only be removed by root (rm -rf ${root})`);
}

function reexec(uid: number, gid: number, subuid: IdRange, subgid: IdRange): Promise<number> {
  // util-linux unshare(1) >= 2.38 runs newuidmap/newgidmap for --map-users/--map-groups from a helper child, and
  // --map-root-user adds "0 <uid> 1"; --propagation private keeps our mounts out of the host's namespace.
  const unshareArgs = ['--user', '--mount', '--propagation', 'private', '--map-root-user',
    `--map-users=${subuid.start},1,${subuid.count}`, `--map-groups=${subgid.start},1,${subgid.count}`, '--',
    process.execPath, ...process.execArgv, process.argv[1] ?? '', ...process.argv.slice(2)];
  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_ENV]: '1', TSBUILD_ROOTLESS_IDS: `${uid}:${gid}:${subuid.start}:${subuid.count}:${subgid.start}:${subgid.count}` };
  // Inside, uid 0 would pick /var/lib/tsbuild: the user's default ($XDG_DATA_HOME/tsbuild) is decided out here.
  env['TSBUILD_ROOT'] ??= defaultRoot();
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', unshareArgs, { stdio: 'inherit', env });
    // Every signal is passed on, as rootlesskit's parent does: a SIGINT sent to us alone (a wrapper's
    // child.kill('SIGINT'), a CI runner) was dropped. Ctrl-C at a terminal reaches the child from its process group
    // too; the child takes the second copy within ECHO_MS as the same interrupt (main.ts).
    const forward = (sig: NodeJS.Signals) => () => { child.kill(sig); };
    const handlers = { SIGINT: forward('SIGINT'), SIGTERM: forward('SIGTERM'), SIGHUP: forward('SIGHUP') } as const;
    for (const [sig, fn] of Object.entries(handlers)) process.on(sig, fn);
    child.on('error', (err) => reject(rootlessUnavailable(`cannot run unshare: ${err.message}`, 'install util-linux (unshare >= 2.38)')));
    child.on('close', (code, sig) => {
      for (const [s, fn] of Object.entries(handlers)) process.off(s, fn);
      // As a shell reports a child killed by a signal: 128 + its number (SIGKILL 137, not 143).
      resolve(code ?? 128 + (sig ? osConstants.signals[sig] : 15));
    });
  });
}

// What the build runs with, said once at its start; a refused overlay mount ends the build here with the reason.
async function describeNamespace(args: string[]): Promise<void> {
  const [uid, gid, us, uc, gs, gc] = (process.env['TSBUILD_ROOTLESS_IDS'] ?? '').split(':').map(Number);
  const note = (text: string): void => { process.stderr.write(`rootless: ${text}\n`); };
  note(`user namespace: uid 0 = host uid ${uid}, uids 1-${uc} = host ${us}-${(us ?? 0) + (uc ?? 0) - 1}; gid 0 = host gid ${gid}, gids 1-${gc} = host ${gs}-${(gs ?? 0) + (gc ?? 0) - 1}`);
  if ((uc ?? 0) < RECOMMENDED_IDS - 1 || (gc ?? 0) < RECOMMENDED_IDS - 1) {
    note(`only ${Math.min(uc ?? 0, gc ?? 0)} subordinate ids: files owned by higher ids cannot be unpacked (65536 recommended)`);
  }
  const root = rootOf(args);
  // The kernel's overlayfs when it works here; else fuse-overlayfs (TSBUILD_SNAPSHOTTER=fuse-overlayfs asks for it
  // directly). Everything that mounts reads the choice from the environment (worker/rootless/overlay-flavour.ts).
  let why = `${SNAPSHOTTER_ENV}=fuse-overlayfs`;
  if (snapshotterKind() !== 'fuse-overlayfs') {
    const probe = await probeOverlay(join(root, 'tmp'));
    if (probe.isWorking) {
      note(`snapshots: kernel overlayfs (userxattr: user.overlay.* metadata), state in ${root}`);
      return;
    }
    why = `the kernel refuses overlayfs in this user namespace on ${root} (Linux ${release()}): ${probe.detail}`;
    process.env[SNAPSHOTTER_ENV] = 'fuse-overlayfs';
  }
  const fuse = await probeFuseOverlay(join(root, 'tmp'));
  if (!fuse.isWorking) {
    throw rootlessUnavailable(`no overlay filesystem works here: ${why}; fuse-overlayfs: ${fuse.detail}`,
      'rootless needs Linux >= 5.11 with a state directory on ext4, xfs, btrfs or tmpfs (--root), or fuse-overlayfs (apt-get install fuse-overlayfs) and a /dev/fuse the user can open');
  }
  note(`snapshots: fuse-overlayfs (${fuse.version ?? 'fuse-overlayfs'}; ${why}), state in ${root}`);
}

function rootOf(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--root' && args[i + 1] !== undefined) return args[i + 1] ?? '';
    if (a.startsWith('--root=')) return a.slice('--root='.length);
  }
  return defaultRoot();
}
