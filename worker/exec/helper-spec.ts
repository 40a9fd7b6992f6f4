// The spec the native helper reads on stdin: NUL-terminated tokens, parsed by worker/native/spec.c.
import { UserError } from '../../common/index.js';
import type { DeviceRule } from './devices.js';

/** An overlay the helper mounts on `dst`; read-only when it has no upperDir. */
export interface HelperOverlay { dst: string; lowerDirs: string[]; upperDir?: string; workDir?: string }

/**
 * A container mount: a bind whose source is resolved inside `srcRoot`, a tmpfs, a file with this content that
 * the helper writes into its scratch tmpfs and binds read-write, or a secret it writes there with this owner and
 * mode and binds read-only (both need `scratch`). Targets are absolute.
 */
export type HelperMount =
  | { kind: 'bind'; srcRoot: string; srcPath: string; target: string; readonly: boolean }
  | { kind: 'tmpfs'; target: string; data: string }
  | { kind: 'file'; target: string; content: string }
  | { kind: 'secret'; target: string; uid: number; gid: number; mode: number; value: Uint8Array };

/** Everything the helper needs to run one process; all policy is decided before it is built. */
export interface HelperSpec {
  argv: string[];
  env: string[];
  cwd: string;
  hostname: string;
  uid: number;
  gid: number;
  groups: number[];
  /**
   * 'none': its own network namespace with only lo; 'host': the host's; `{ netns }`: join that prepared network
   * namespace (the build's user-mode network, see network.ts), checked by inode so a recycled pid cannot redirect it.
   */
  network: 'none' | 'host' | { netns: string; inode: number };
  /** RUN --security=insecure: every capability root has, no masked /proc paths, writable /sys. */
  isPrivileged: boolean;
  /** With isPrivileged as real root: /dev gets BuildKit's insecure-mode nodes (fuse, loop-control, loopN, kmsg …). */
  hasInsecureDevices?: boolean;
  /** Rootless (a user namespace): overlays get `userxattr`, as the snapshotter mounts them (worker/rootless). */
  userxattr?: boolean;
  /** fuse-overlayfs: the driver mounted the rootfs and the overlays on their dst already; the helper binds the rootfs. */
  premounted?: boolean;
  /** A seccomp filter (raw BPF, from seccompFilter() in helper-process.ts) the helper loads just before execve. */
  seccompFilter?: Buffer;
  /**
   * cgroup v2 only: the device allow-list the helper attaches to cgroupDir as a BPF_CGROUP_DEVICE program (on v1
   * the driver writes devices.deny/allow itself). Absent: no device restriction from the helper.
   */
  devices?: { cgroupDir: string; rules: readonly DeviceRule[] };
  /** cgroup.procs files the container joins. */
  cgroups: string[];
  /**
   * The helper is in `cgroups` already (a waiting one moved there ahead of need, helper-pool.ts): it joins none, and
   * still knows which they are (it mounts the hierarchies of those at /sys/fs/cgroup).
   */
  cgroupsJoined?: boolean;
  /** Files the helper flock()s exclusively for the whole run (sharing=locked cache mounts). */
  locks: string[];
  /**
   * An existing directory the helper mounts a private tmpfs on, in the step's own mount namespace only (steps may
   * share it): it holds the 'file' mounts and, when rootfs.dst is '', the rootfs mount point.
   */
  scratch?: string;
  /** The rootfs; dst '' = a mount point in the scratch tmpfs (not with `premounted`). */
  rootfs: HelperOverlay & { upperDir: string; workDir: string };
  /** Overlays staged on host directories before the mounts (sources of binds). */
  overlays: HelperOverlay[];
  mounts: HelperMount[];
  /** setrlimit before execve: Linux RLIMIT_* numbers; -1 is RLIM_INFINITY. */
  rlimits?: { resource: number; soft: number; hard: number }[];
  /** /dev/shm tmpfs size in KiB (65536 when absent). */
  shmKib?: number;
  /** A RUN mount targets /dev/shm: the helper mounts no default tmpfs there (BuildKit's dedupMounts). */
  isShmReplaced?: boolean;
  /**
   * `tsbuild debug`: the process's stdio is a person's, relayed by the helper from its fd 4 (this process's stdin)
   * into a pipe ('stdio') or a pseudo-terminal of the step's own ('tty'), and out to its stdout and stderr, which are
   * this process's. Absent: a build step's (stdin /dev/null, output to the driver).
   */
  terminal?: 'stdio' | 'tty';
}

function overlayTokens(key: string, o: HelperOverlay): string[] {
  return [key, o.dst, o.upperDir ?? '', o.workDir ?? '', String(o.lowerDirs.length), ...o.lowerDirs];
}

/** Encodes a spec; a value containing NUL cannot be passed to a process and is rejected. */
export function encodeHelperSpec(spec: HelperSpec): Buffer {
  const t: string[] = [];
  for (const a of spec.argv) t.push('arg', a);
  for (const e of spec.env) t.push('env', e);
  t.push('cwd', spec.cwd, 'hostname', spec.hostname, 'uid', String(spec.uid), 'gid', String(spec.gid));
  for (const g of spec.groups) t.push('group', String(g));
  if (typeof spec.network === 'string') t.push('net', spec.network);
  else t.push('netns', spec.network.netns, String(spec.network.inode));
  if (spec.isPrivileged) t.push('privileged');
  if (spec.hasInsecureDevices === true) t.push('insecure-devices');
  if (spec.userxattr === true) t.push('userxattr');
  if (spec.premounted === true) t.push('premounted');
  if (spec.seccompFilter !== undefined) t.push('seccomp', spec.seccompFilter.toString('hex'));
  if (spec.devices !== undefined) {
    t.push('devcgroup', spec.devices.cgroupDir);
    for (const r of spec.devices.rules) t.push('device', r.type, r.major === undefined ? '*' : String(r.major), r.minor === undefined ? '*' : String(r.minor), r.access);
  }
  for (const c of spec.cgroups) t.push('cgroup', c);
  if (spec.cgroupsJoined === true) t.push('cgroups-joined');
  for (const l of spec.locks) t.push('lock', l);
  if (spec.scratch !== undefined) t.push('scratch', spec.scratch);
  t.push(...overlayTokens('rootfs', spec.rootfs));
  for (const o of spec.overlays) t.push(...overlayTokens('overlay', o));
  for (const m of spec.mounts) {
    if (m.kind === 'bind') t.push('bind', m.srcRoot, m.srcPath, m.target, m.readonly ? 'ro' : 'rw');
    else if (m.kind === 'tmpfs') t.push('tmpfs', m.target, m.data);
    else if (m.kind === 'file') t.push('file', m.target, m.content);
    // Hex: a secret may hold any byte, NUL included. The spec goes down the helper's stdin pipe, never to a file.
    else t.push('secret', m.target, String(m.uid), String(m.gid), String(m.mode), Buffer.from(m.value).toString('hex'));
  }
  for (const r of spec.rlimits ?? []) t.push('rlimit', String(r.resource), r.soft < 0 ? 'inf' : String(r.soft), r.hard < 0 ? 'inf' : String(r.hard));
  if (spec.shmKib !== undefined) t.push('shm', String(spec.shmKib));
  if (spec.isShmReplaced === true) t.push('no-shm');
  if (spec.terminal !== undefined) t.push('terminal', spec.terminal);
  for (const token of t) {
    if (token.includes('\0')) throw new UserError('INVALID_ARGUMENT', `a RUN argument, environment value or mount holds a NUL byte: ${JSON.stringify(token.length > 200 ? `${token.slice(0, 200)}...` : token)}`, 'a process cannot receive NUL bytes in its arguments or environment: remove it from the Dockerfile, build arg or base image ENV');
  }
  return Buffer.from(t.map((token) => `${token}\0`).join(''), 'utf8');
}
