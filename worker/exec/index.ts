// RUN execution: the native helper (worker/native/) and its TypeScript driver. runExec decides every policy (user,
// mounts, network, cgroup, /etc files) and hands the helper one spec; the helper only carries it out.
//
// What a step gets, and the choices made where BuildKit's behaviour needed a decision:
// - network: 'default' = a network namespace of the build's pool behind slirp4netns (network.ts: outbound TCP/UDP
//   and DNS, no host loopback, no host interfaces, not shared with a concurrent step); 'none' = own network
//   namespace with only lo (up); 'host' = the host's (the builder gates it behind --allow network.host, as BuildKit).
// - sandbox (every step but security=insecure): Docker's default capabilities, device allow-list (devices.ts),
//   seccomp profile (worker/native/seccomp-profile.h), its own session (no controlling terminal); no no_new_privs,
//   as BuildKit (a setuid sudo after USER works).
// - --mount=type=bind: from the context or another stage, any `source=` subpath (resolved inside the source, so a
//   symlink cannot escape it); a stage with several layers is staged as a read-only overlay first; `rw` writes go
//   to a throwaway upper dir in stateDir, never to the source.
// - --mount=type=cache: `<cacheDir>/<sha256(id)>`, created with uid/gid/mode; locked = flock by the helper for the
//   whole run (across processes); private = a fresh throwaway dir while this process uses the cache elsewhere;
//   `from=` = a cache per source content, seeded with the mounted subtree of the source (seeded-cache.ts).
// - --mount=type=secret: written by the helper into its scratch tmpfs with uid/gid/mode, bound read-only (default
//   /run/secrets/<id>), or `env=`; never on a disk.
// - --mount=type=ssh: a proxy socket (owned uid/gid, mode) forwarding to the --ssh agent; SSH_AUTH_SOCK points at it.
// - security=insecure: every capability root has, every device, no seccomp, no masked paths, writable /sys. The
//   builder must gate it.
// - Mount targets the rootfs lacks are created for the run and removed from the upper dir afterwards (stubs.ts).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdirSync, realpathSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import type { ExecOp } from '../../frontend/index.js';
import type { ProgressSink, SecretSource } from '../../solver/index.js';
import { StepLogs } from './log-limit.js';
import type { ChainAccounts } from './accounts-cache.js';
import { BuildCgroups } from './build-cgroups.js';
import { createCgroup } from './cgroup.js';
import { warmCgroupMigration } from './cgroup-warmup.js';
import { isUnlimited, type ExecLimits, type StepCgroup } from './cgroup.js';
import { DEFAULT_DEVICE_RULES } from './devices.js';
import type { DeviceRule } from './devices.js';
import { CancelledError, ContainerSetupError, errnoMessage, NetworkSetupError, ResourceLimitError, RunError } from './errors.js';
import { ETC_FILE_TARGETS, etcFileMounts } from './etc-files.js';
import { helperPath, runHelper, seccompFilter } from './helper-process.js';
import type { HelperPool } from './helper-pool.js';
import type { HelperResult } from './helper-process.js';
import type { HelperSpec } from './helper-spec.js';
import type { MountPlan } from './mount-plan.js';
import type { CacheSeed } from './cache-mount.js';
import { planMounts } from './mount-plan.js';
import { UserNetwork } from './network.js';
import type { UserNetworkPool } from './network.js';
import { OutputTail } from './output-tail.js';
import { freshUpperBefore, inspectUpperIn, removeStubsIn } from './stubs.js';
import { RootSession } from '../confined/index.js';
import type { Accounts } from '../confined/index.js';
import type { UpperBefore } from './stubs.js';
import { execUser, resolveUser } from './user.js';
import type { ExecUser } from './user.js';
import { rlimitOf, ulimitName } from './rlimits.js';
import { isInUserNamespace, snapshotterKind } from '../rootless/index.js';
import { premountOverlays, removeFuseMarkers } from '../snapshots/mount.js';
import { createRootlessCgroup } from './rootless-cgroup.js';

export { CancelledError, ContainerSetupError, NetworkSetupError, RunError, SecretError } from './errors.js';
export { MAX_SECRET_BYTES } from './mount-plan.js';
export type { ExecLimits } from './cgroup.js';
export { BuildCgroups } from './build-cgroups.js';
export { ChainAccounts } from './accounts-cache.js';
export { UserNetwork, UserNetworkPool } from './network.js';
export { HelperPool } from './helper-pool.js';
export { cacheMountsDir, listCacheMounts, removeCacheMount, resetCacheMounts } from './cache-mount.js';
export type { CacheMountUsage, CacheSeed } from './cache-mount.js';

/**
 * An overlay root filesystem for one step: read-only lower dirs (top first, overlayfs order) and the step's upper.
 * `isFresh`: the caller made upperDir just now (empty, not opaque, nothing ran in it), so nothing needs a look
 * before the step.
 */
export interface OverlayRootfs { lowerDirs: string[]; upperDir: string; workDir: string; isFresh?: boolean }

/** A RUN --mount source on the host: a plain directory, or a read-only overlay of committed snapshot dirs. */
export type ExecMountSource = { kind: 'dir'; path: string } | { kind: 'overlay'; lowerDirs: string[] };

/** Everything a RUN step needs besides its op. */
export interface ExecEnvironment {
  rootfs: OverlayRootfs;
  /** Sources of `--mount from=…`, keyed 'context', 'inline' (a heredoc script) or by the source vertex id. */
  sources: Record<string, ExecMountSource>;
  /** Persistent directory under which type=cache mounts live (one subdirectory per cache id). */
  cacheDir: string;
  /** What each `type=cache,from=…` mount (by target) starts from: its source's digest and the copy that seeds it. */
  cacheSeeds?: Record<string, CacheSeed>;
  /** `--secret` sources by id: a host file's path, or the value itself. */
  secrets: Record<string, SecretSource>;
  /** `--ssh` agent sockets on the host by id; each step gets a proxy socket of its own (mount-plan.ts). */
  ssh?: Record<string, string>;
  /** A private scratch directory for this step (inline files, rw bind uppers); removed by the caller. */
  stateDir: string;
  /** The state root's temp dir (worker/temp-dirs.ts): where the rootfs is mounted when USER must be read from it. */
  tempDir: string;
  /**
   * An empty directory the helper mounts its private tmpfs on, only ever inside the step's own mount namespace, so
   * the steps of a worker can share one (nothing is ever written into it on the host). Absent: one in stateDir.
   */
  scratchDir?: string;
  /** cgroup limits for the step; unlimited when absent. */
  limits?: ExecLimits;
  /** The container's hostname when the op names none (default "buildkitsandbox", as BuildKit's). */
  hostname?: string;
  /**
   * The build's networks for steps with the default network (network.ts). Absent: such a step gets a network of
   * its own, started and stopped around it.
   */
  networks?: UserNetworkPool;
  /** The build's shared cgroups for steps without limits (build-cgroups.ts). Absent: a cgroup set per step. */
  cgroups?: BuildCgroups;
  /** The worker's known users and groups of snapshot chains (accounts-cache.ts). Absent: read for every step. */
  accounts?: ChainAccounts;
  /** The worker's helpers started ahead of need (helper-pool.ts). Absent: each step starts its own. */
  helpers?: HelperPool;
  /**
   * `tsbuild debug`: the process talks to the person at this process's stdin and stdout (HelperSpec.terminal), and
   * its exit status is returned rather than a failure; the step's output is not logged.
   */
  terminal?: 'stdio' | 'tty';
}

// BuildKit's sandbox hostname (executor/oci: hostname "buildkitsandbox"), what a RUN step sees unless the build arg
// BUILDKIT_SANDBOX_HOSTNAME set another (ExecOp.hostname).
const DEFAULT_HOSTNAME = 'buildkitsandbox';

function envName(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

// The step's environment: secret env= entries override the op's, and HOME comes from /etc/passwd when unset, as
// runc does.
function processEnv(opEnv: string[], secretEnv: string[], home: string): string[] {
  const overridden = new Set(secretEnv.map(envName));
  const env = [...opEnv.filter((e) => !overridden.has(envName(e))), ...secretEnv];
  return env.some((e) => envName(e) === 'HOME') ? env : [...env, `HOME=${home}`];
}

// overlayfs needs at least one lower dir: a step on FROM scratch gets an empty one.
async function lowerDirsOf(rootfs: OverlayRootfs, stateDir: string): Promise<string[]> {
  if (rootfs.lowerDirs.length > 0) return rootfs.lowerDirs;
  const empty = join(stateDir, 'empty-lower');
  await mkdir(empty, { recursive: true });
  return [empty];
}

function describeExit(op: ExecOp, result: HelperResult, tail: string[]): Error | undefined {
  const f = result.failure;
  if (f !== undefined && f.op === 'execve') {
    // The container was fine; the step's program is missing or not executable: BuildKit words it like this too.
    const missing = f.errno === 2;
    // runc words it by the errno (`argument list too long` for E2BIG, `exec format error` …); EACCES is the common one.
    const why = missing ? 'executable file not found in $PATH' : f.errno === 13 ? 'permission denied' : errnoMessage(f.errno);
    const hint = missing ? 'install the program in an earlier step or use its absolute path'
      : f.errno === 7 ? 'the step\'s environment and arguments passed the kernel\'s limit (128 KiB for one string): keep large values out of ENV, ARG and the command line'
        : undefined;
    return new RunError(op.argv, missing ? 127 : 126, tail, `exec: "${f.arg}": ${why}`, hint);
  }
  if (f !== undefined && f.op === 'setrlimit') {
    const name = ulimitName(Number(f.arg)) ?? f.arg;
    return new ContainerSetupError(f.op, name, f.errno, f.errno === 1
      ? `--ulimit ${name}: a hard limit above the one tsbuild runs with needs CAP_SYS_RESOURCE (rootless: at most yours, ulimit -H)`
      : `check the --ulimit ${name} values`);
  }
  if (f !== undefined && f.op === 'getcwd') {
    return new ContainerSetupError(f.op, f.arg, f.errno, `the working directory "${f.arg}" leads out of the container's root filesystem (through /proc): set WORKDIR to a directory of the image`);
  }
  if (f !== undefined) return new ContainerSetupError(f.op, f.arg, f.errno);
  if (result.signal !== undefined) {
    return new RunError(op.argv, 128 + result.signal, tail, `signal: ${result.signal}`);
  }
  if (result.exitCode !== undefined && result.exitCode !== 0) return new RunError(op.argv, result.exitCode, tail);
  return undefined;
}

/** A step's network, started: what the helper's spec says, the step's /etc/resolv.conf, and how to let it go. */
interface StepNetwork { spec: HelperSpec['network']; resolvConf?: string | undefined; done(): Promise<void> }

// The step's network: a user-mode network (from the build's pool, or private) for 'default', the host's for
// 'host', lo for 'none'. `done` gives a pooled network back, or stops a private one.
async function stepNetwork(op: ExecOp, env: ExecEnvironment): Promise<StepNetwork> {
  if (op.network === 'host') return { spec: 'host', done: async () => undefined };
  if (op.network === 'none') return { spec: 'none', done: async () => undefined };
  const pool = env.networks;
  let network: UserNetwork;
  try {
    network = pool !== undefined ? await pool.acquire() : await UserNetwork.start();
  } catch (err) {
    throw new NetworkSetupError({ cause: err }, await rootlessTunProblem());
  }
  // A privileged step holds CAP_NET_ADMIN in the namespace and could leave routes or firewall rules behind.
  const isReusable = op.security !== 'insecure';
  const done = async (): Promise<void> => (pool !== undefined ? pool.release(network, isReusable) : network.stop());
  try {
    return { spec: { netns: network.netns, inode: network.netnsInode }, resolvConf: await network.resolvConf(), done };
  } catch (err) {
    await done();
    throw err;
  }
}

/**
 * Runs one RUN step to completion; throws RunError (code RUN_FAILED) with exit code and last output lines. With
 * `env.terminal` (`tsbuild debug`) the process's exit status (128+signal when killed) is returned instead.
 */
export async function runExec(op: ExecOp, env: ExecEnvironment, signal: AbortSignal, progress: ProgressSink): Promise<number> {
  if (signal.aborted) throw new CancelledError(`RUN ${op.argv.join(' ')}`, { cause: signal.reason });
  // Rootless, this process cannot write cgroup.procs files outside its delegated subtree: nothing to warm. Nor when
  // the waiting helper is in the shared cgroups this step gets already (helper-pool.ts): it joins none.
  const willShare = env.cgroups !== undefined && op.security !== 'insecure' && isUnlimited(env.limits) && op.cgroupParent === undefined;
  const isJoined = willShare && env.helpers?.hasJoined(helperPath()) === true;
  const warm = isInUserNamespace() || isJoined ? Promise.resolve() : warmCgroupMigration();
  // The first step's waits run side by side: the network (a new one starts slirp4netns), the seccomp filter
  // (compiled once per process), the shared cgroups (made once) and the look at the rootfs (a chain not read yet is
  // mounted and read) each wait on another process or the kernel. runIn awaits the network once the step's user is
  // known. The network, the longest of them (~20-40 ms to slirp4netns's ready), forks first: each fork holds this
  // thread ~5 ms, and the others' come after it.
  const network = stepNetwork(op, env);
  network.catch(() => undefined);   // awaited in runIn, or below when runIn failed first
  if (op.security !== 'insecure') void seccompFilter().catch(() => undefined);
  // The shared cgroups are made once per worker (build-cgroups.ts); sharedCgroup awaits the same set.
  if (willShare && !isInUserNamespace()) void env.cgroups?.acquire(DEFAULT_DEVICE_RULES).catch(() => undefined);
  env.helpers?.prepare(helperPath());   // the first step's helper forks while its network starts
  // One confined process resolves USER, looks at the upper dir before the step and removes the stubs after it
  // (stubs.ts). On a fresh upper whose chain's accounts are known nothing needs a look before the step: the
  // process is started once the helper runs (runIn), off the critical path. Otherwise it is started first, so that
  // it boots while the network and the /etc files are made.
  const known = env.rootfs.isFresh === true ? env.accounts?.known(env.rootfs.lowerDirs) : undefined;
  const session = known === undefined ? openSession(env.rootfs) : undefined;
  try {
    return await runIn(op, env, session, known, network, warm, signal, progress);
  } finally {
    await (await network.catch(() => undefined))?.done();
  }
}

function openSession(rootfs: OverlayRootfs): RootSession {
  return RootSession.open(rootfs.upperDir, { lowerRoots: rootfs.lowerDirs });
}

// Owns `session` (when given) from here on: closes it after the stub clean-up, or aborts it on any failure. Without
// one (`known` accounts, fresh upper), it starts one while the helper runs. `starting`: the step's network, which
// the caller lets go.
async function runIn(op: ExecOp, env: ExecEnvironment, given: RootSession | undefined, known: Accounts | undefined,
  starting: Promise<StepNetwork>, warm: Promise<void>, signal: AbortSignal, progress: ProgressSink): Promise<number> {
  const tail = new OutputTail(20);
  // The step's output reaches the log as buildkitd lets it through (2 MiB, 200 KiB/s); the tail sees all of it.
  const logs = new StepLogs(progress);
  // The frontend only emits security=insecure when the user allowed it (BuildKit's security.insecure
  // entitlement); the builder must refuse it otherwise.
  const isPrivileged = op.security === 'insecure';
  let session = given;
  let result: HelperResult | undefined;
  let upperBefore: UpperBefore | undefined;
  let plan: MountPlan | undefined;
  try {
    // The step's own small files in its private state dir: a few synchronous calls (tens of µs) instead of a
    // round trip through the thread pool each.
    mkdirSync(env.stateDir, { recursive: true });
    const stateDir = realpathSync(env.stateDir);
    const hostname = op.hostname ?? env.hostname ?? DEFAULT_HOSTNAME;
    plan = await planMounts(op.mounts, { ...env, stateDir }, op.cwd);
    const targets = ['/proc', '/dev', '/sys', ...ETC_FILE_TARGETS, ...plan.mounts.map((m) => m.target)];
    let user: ExecUser;
    if (session === undefined && known !== undefined) {
      user = execUser(op.user, known);
      upperBefore = freshUpperBefore(env.rootfs.upperDir, targets);
    } else {
      session ??= openSession(env.rootfs);
      // USER through the step's session (a chain the worker already read is not mounted and read again) and the
      // look at the upper dir: both only read through the session, so their queries go out together.
      const s = session;
      [user, upperBefore] = await Promise.all([
        resolveUser(op.user, env.rootfs, env.tempDir, env.accounts === undefined ? undefined : { chains: env.accounts, session: s }),
        inspectUpperIn(s, targets),
      ]);
    }
    const network = await starting;
    const mounts = [...etcFileMounts(hostname, network.resolvConf, op.extraHosts), ...plan.mounts];
    // The helper's private tmpfs: the /etc files and (kernel overlayfs) the rootfs mount point live there, so a
    // step writes and removes nothing of its own on disk. fuse-overlayfs mounts the rootfs before the helper, on a
    // host dir.
    const scratch = env.scratchDir !== undefined ? resolve(env.scratchDir) : join(stateDir, 'scratch');
    if (env.scratchDir === undefined) mkdirSync(scratch);
    const isPremounted = snapshotterKind() === 'fuse-overlayfs';
    const rootDir = isPremounted ? join(stateDir, 'rootfs') : '';
    if (isPremounted) mkdirSync(rootDir, { recursive: true });
    // With our pid in it: a build killed with SIGKILL leaves the cgroup, which the next build removes (build-cgroups.ts).
    const cgroupId = `step-${process.pid}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    // Rootless: no device allow-list (the kernel refuses device mknod in a user namespace; see rootless-cgroup.ts),
    // and a cgroup only under a delegated v2 subtree. The seccomp profile and namespaces stay as they are.
    const isRootless = isInUserNamespace();
    const devices = isPrivileged || isRootless ? undefined : DEFAULT_DEVICE_RULES;
    // Rootless, the only cgroups this process may make are in its delegated subtree: a --cgroup-parent elsewhere is
    // refused rather than quietly ignored.
    if (isRootless && op.cgroupParent !== undefined) throw new ResourceLimitError(`--cgroup-parent ${op.cgroupParent}: rootless, RUN steps get a cgroup only under the delegated one`, undefined, 'drop --cgroup-parent, or run tsbuild itself in the cgroup you want (systemd-run --user --scope -p Slice=…)');
    const cgroup: StepCgroup & { note?: string } = isRootless ? await createRootlessCgroup(cgroupId, env.limits)
      : (op.cgroupParent === undefined ? await sharedCgroup(env, devices) : undefined) ?? await createCgroup(cgroupId, env.limits, devices, op.cgroupParent);
    if (isRootless) noteRootlessOnce(progress, cgroup.note);
    const rootfs = { dst: rootDir, ...env.rootfs, lowerDirs: await lowerDirsOf(env.rootfs, stateDir) };
    // fuse-overlayfs: mounted here, before the helper (which then binds them); kernel overlayfs: by the helper.
    const unmountPremounted = await premountOverlays([rootfs, ...plan.overlays]);
    try {
      await warm;
      const running = runHelper({
        argv: op.argv,
        env: processEnv(op.proxyEnv === undefined ? op.env : [...op.env, ...op.proxyEnv], plan.env, user.home),
        cwd: op.cwd,
        hostname,
        uid: user.uid,
        gid: user.gid,
        groups: user.groups,
        isPrivileged,
        // In a user namespace the kernel refuses device mknod: BuildKit adds these nodes only outside one too.
        ...(isPrivileged && !isRootless ? { hasInsecureDevices: true } : {}),
        ...(isRootless ? { userxattr: true } : {}),
        ...(isPrivileged ? {} : { seccompFilter: await seccompFilter() }),
        ...(devices !== undefined && cgroup.v2Dir !== undefined ? { devices: { cgroupDir: cgroup.v2Dir, rules: devices } } : {}),
        network: network.spec,
        cgroups: cgroup.procsFiles,
        locks: plan.locks,
        ...(unmountPremounted !== undefined ? { premounted: true } : {}),
        scratch,
        rootfs,
        overlays: plan.overlays,
        mounts,
        ...(op.ulimits?.length ? { rlimits: op.ulimits.map(rlimitOf) } : {}),
        ...(op.shmSize !== undefined ? { shmKib: Math.ceil(op.shmSize / 1024) } : {}),
        ...(plan.mounts.some((m) => m.target === '/dev/shm') ? { isShmReplaced: true } : {}),
        ...(env.terminal !== undefined ? { terminal: env.terminal } : {}),
      }, signal, logs.sink, tail, helperPath(), env.helpers);
      // The helper is started: the session for the clean-up boots while the step runs.
      session ??= openSession(env.rootfs);
      result = await running;
      // Between steps: the waiting helper moves into the shared cgroups now (helper-pool.ts).
      env.helpers?.settle();
    } finally {
      await unmountPremounted?.();
      await cgroup.remove();
    }
  } finally {
    await plan?.release();
    if (result !== undefined && upperBefore !== undefined && session !== undefined) {
      try {
        await removeFuseMarkers(env.rootfs.upperDir, [...new Set(result.stubs.flatMap((st) => [...(st.isDir ? [st.path] : []), ...stubAncestors(st.path)]))]);
        await removeStubsIn(session, env.rootfs.lowerDirs.length, result.stubs, upperBefore, result.settled);
        if (env.rootfs.isFresh === true && env.accounts !== undefined) {
          const [root, etc] = await Promise.all([session.lstat(0, ''), session.lstat(0, 'etc')]);
          env.accounts.noteStep(env.rootfs, root, etc);
        }
      } catch (err) {
        await session.abort();
        throw session.failure ?? err;
      }
      await session.close();
    } else {
      await session?.abort();   // the step failed before it ran: its own error is the one to report
    }
  }
  if (signal.aborted) throw new CancelledError(`RUN ${op.argv.join(' ')}`, { cause: signal.reason });
  // A person's shell ends as they end it: its status is theirs to see, not a failed step (a setup failure still is).
  if (env.terminal !== undefined && result.failure === undefined) return result.signal !== undefined ? 128 + result.signal : result.exitCode ?? 0;
  const err = describeExit(op, result, tail.lines());
  if (err !== undefined) {
    logs.flushKept();
    throw err;
  }
  return 0;
}

// Steps without limits share the build's cgroups for their device policy; a step with limits gets its own.
async function sharedCgroup(env: ExecEnvironment, devices: readonly DeviceRule[] | undefined): Promise<StepCgroup | undefined> {
  return isUnlimited(env.limits) ? env.cgroups?.acquire(devices) : undefined;
}

/** The directories above a mount target, deepest first ('/a/b/c' → '/a/b', '/a'). */
function stubAncestors(path: string): string[] {
  const out: string[] = [];
  for (let p = posix.dirname(path); p !== '/' && p !== '.'; p = posix.dirname(p)) out.push(p);
  return out;
}

let rootlessNoted = false;

// Said once per process, in the first step's output: what rootless RUN steps do without.
function noteRootlessOnce(progress: ProgressSink, cgroupNote: string | undefined): void {
  if (rootlessNoted) return;
  rootlessNoted = true;
  const lines = ['rootless: RUN device allow-list skipped (in a user namespace the kernel refuses device nodes; seccomp and namespaces apply as rootful)'];
  if (cgroupNote !== undefined) lines.push(`rootless: ${cgroupNote}`);
  progress.log('stderr', Buffer.from(`${lines.join('\n')}\n`));
}

// slirp4netns opens /dev/net/tun in the step's network namespace. Real root always may; rootless, the node's own
// mode decides (distributions' udev rules make it 0666; some containers and minimal hosts leave it 0600).
async function rootlessTunProblem(): Promise<{ message: string; hint: string } | undefined> {
  if (!isInUserNamespace()) return undefined;
  try {
    await access('/dev/net/tun', constants.R_OK | constants.W_OK);
    return undefined;
  } catch {
    return {
      message: 'starting the RUN network (slirp4netns) failed: rootless, /dev/net/tun is not readable and writable by this user',
      hint: 'as root: chmod 0666 /dev/net/tun (the distributions\' default; scripts/setup.sh does it), or run the step with RUN --network=none',
    };
  }
}
