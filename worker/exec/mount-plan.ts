import { chmod, mkdir, open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { assertNever, sourceKey } from '../../frontend/index.js';
import type { RunMount, SourceRef } from '../../frontend/index.js';
import { prepareCacheDir } from './cache-mount.js';
import { startSshAgentProxy } from './ssh-agent-proxy.js';
import { SecretError } from './errors.js';
import type { HelperMount, HelperOverlay } from './helper-spec.js';
import type { ExecEnvironment, ExecMountSource } from './index.js';
import type { SecretSource } from '../../solver/index.js';
import { UserError } from '../../common/index.js';

/** What a step's RUN --mount list turns into for the helper, plus what to undo afterwards. */
export interface MountPlan {
  overlays: HelperOverlay[];
  mounts: HelperMount[];
  locks: string[];
  /** `KEY=value` entries from secret mounts with env=. */
  env: string[];
  release(): Promise<void>;
}

// Sources are keyed as the solver's execResources keys them (sourceKey): 'context', `context:NAME`, 'inline' (the one heredoc script a RUN
// with a shebang mounts at /dev/pipes/, materialised by the worker) or the source vertex id.
function sourceOf(env: ExecEnvironment, from: SourceRef): ExecMountSource {
  const key = sourceKey(from);
  const src = env.sources[key];
  if (src === undefined) throw new Error(`runExec: no mount source "${key}" in the exec environment`);
  return src;
}

// An inline RUN mount is a heredoc script with a shebang that the step executes: BuildKit writes it 0755
// (dockerfile2llb: llb.Mkfile(name, 0755, data)). The worker materialises it in this step's private state dir,
// so changing the mode here touches nothing shared.
async function makeScriptsExecutable(dir: string, files: { name: string }[]): Promise<void> {
  for (const f of files) {
    const parts = f.name.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
    if (parts.length > 0) await chmod(join(dir, ...parts), 0o755);
  }
}

class Planner implements MountPlan {
  overlays: HelperOverlay[] = [];
  mounts: HelperMount[] = [];
  locks: string[] = [];
  env: string[] = [];
  #releases: (() => Promise<void>)[] = [];
  #n = 0;
  #sshSet = false;

  constructor(readonly stateDir: string, readonly cwd: string) {}

  target(t: string): string {
    return posix.resolve(this.cwd, t);
  }

  /** A new directory of the step's state dir: every call its own (`m<N><suffix>`), so no two mounts share a file. */
  async scratch(suffix: string): Promise<string> {
    const dir = join(this.stateDir, `m${this.#n++}${suffix}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  // A bind of `source` (a subpath) from a host dir or a read-only overlay. A writable bind never writes through:
  // like BuildKit, its changes go to a throwaway upper dir in stateDir.
  async bind(src: ExecMountSource, source: string, target: string, readwrite: boolean): Promise<void> {
    const lowerDirs = src.kind === 'dir' ? [src.path] : src.lowerDirs;
    const root = lowerDirs.length === 0 ? await this.scratch('-empty') : lowerDirs[0] ?? '';
    if (lowerDirs.length <= 1 && !readwrite) {
      // overlayfs refuses a single lower dir without an upper dir: bind the dir itself.
      this.mounts.push({ kind: 'bind', srcRoot: root, srcPath: source, target: this.target(target), readonly: true });
      return;
    }
    const dst = await this.scratch('');
    const overlay: HelperOverlay = { dst, lowerDirs: lowerDirs.length === 0 ? [root] : lowerDirs };
    if (readwrite) {
      overlay.upperDir = await this.scratch('-upper');
      overlay.workDir = await this.scratch('-work');
    }
    this.overlays.push(overlay);
    this.mounts.push({ kind: 'bind', srcRoot: dst, srcPath: source, target: this.target(target), readonly: !readwrite });
  }

  async secret(m: Extract<RunMount, { type: 'secret' }>, secrets: Record<string, SecretSource>): Promise<void> {
    const source = secrets[m.id];
    if (source === undefined) {
      if (m.required) throw new SecretError(m.id);
      return;
    }
    const value = typeof source === 'string' ? await readSecret(source, m.id) : Buffer.from(source);
    if (value.length > MAX_SECRET_BYTES) throw secretTooLarge(m.id);
    if (m.env !== undefined) this.env.push(`${m.env}=${value.toString('utf8')}`);
    if (m.env !== undefined && m.target === undefined) return;
    // The helper writes the value into its private scratch tmpfs with the requested owner and mode and binds it
    // read-only (mounts.c mount_secret, as BuildKit's secretMountInstance): no copy of it on any disk.
    this.mounts.push({ kind: 'secret', target: this.target(m.target ?? `/run/secrets/${m.id}`), uid: m.uid, gid: m.gid, mode: m.mode, value });
  }

  // The agent the user forwarded with --ssh ID=SOCKET, through a proxy socket of the mount's owner and mode; the
  // first ssh mount's target becomes SSH_AUTH_SOCK (as BuildKit sets it).
  async ssh(m: Extract<RunMount, { type: 'ssh' }>, agents: Record<string, string>): Promise<void> {
    const agent = agents[m.id];
    if (agent === undefined) {
      if (!m.required) return;
      throw new UserError('SECRET_NOT_FOUND', `RUN --mount=type=ssh needs the SSH agent "${m.id}", but --ssh ${m.id} was not given`, `pass --ssh ${m.id === 'default' ? 'default' : `${m.id}=<agent socket>`}, or mark the mount required=false`);
    }
    const proxy = await startSshAgentProxy(agent, m);
    this.#releases.push(proxy.close);
    const target = this.target(m.target);
    this.mounts.push({ kind: 'bind', srcRoot: proxy.dir, srcPath: proxy.name, target, readonly: false });
    if (!this.#sshSet) this.env.push(`SSH_AUTH_SOCK=${target}`);
    this.#sshSet = true;
  }

  async cache(m: Extract<RunMount, { type: 'cache' }>, env: ExecEnvironment): Promise<void> {
    const seed = m.from === undefined ? undefined : env.cacheSeeds?.[m.target];
    if (m.from !== undefined && seed === undefined) throw new Error(`runExec: no seed for the cache mount at ${m.target} (from=${sourceKey(m.from)}) in the exec environment`);
    const dir = await prepareCacheDir(env.cacheDir, m, seed === undefined ? undefined : { seed, tempDir: env.tempDir });
    this.#releases.push(dir.release);
    if (dir.lock !== undefined) this.locks.push(dir.lock);
    // The subpath is resolved in-root by the helper again (openat2 RESOLVE_IN_ROOT in the cache dir).
    this.mounts.push({ kind: 'bind', srcRoot: dir.path, srcPath: `/${dir.subpath}`, target: this.target(m.target), readonly: m.readonly });
  }

  async add(m: RunMount, env: ExecEnvironment): Promise<void> {
    switch (m.type) {
      case 'bind': {
        const src = sourceOf(env, m.from);
        if (m.from.kind === 'inline' && src.kind === 'dir') await makeScriptsExecutable(src.path, m.from.files);
        return this.bind(src, m.source, m.target, m.readwrite);
      }
      case 'cache': return this.cache(m, env);
      case 'tmpfs':
        this.mounts.push({ kind: 'tmpfs', target: this.target(m.target), data: m.size === undefined ? 'mode=1777' : `mode=1777,size=${m.size}` });
        return;
      case 'secret': return this.secret(m, env.secrets);
      case 'ssh': return this.ssh(m, env.ssh ?? {});
      default: return assertNever(m);
    }
  }

  async release(): Promise<void> {
    for (const r of this.#releases.splice(0)) await r();
  }
}

/** Turns a step's RUN --mount list into helper overlays, binds, tmpfs mounts, locks and env entries. */
export async function planMounts(mounts: RunMount[], env: ExecEnvironment, cwd: string): Promise<MountPlan> {
  const planner = new Planner(env.stateDir, cwd);
  try {
    for (const m of mounts) await planner.add(m, env);
  } catch (err) {
    await planner.release();
    throw err;
  }
  return planner;
}

/** BuildKit's limit on a secret (session/secrets/secretsprovider: MaxSecretSize, 500 KiB). */
export const MAX_SECRET_BYTES = 500 * 1024;

function secretTooLarge(id: string): UserError {
  return new UserError('SECRET_NOT_FOUND', `secret "${id}" is larger than ${MAX_SECRET_BYTES / 1024} KiB`, 'BuildKit refuses secrets this large too: mount a smaller file, or fetch the data in the step');
}

/**
 * A secret's bytes, read to EOF and at most MAX_SECRET_BYTES: a file whose size the kernel states wrongly (sysfs says
 * 4096 and gives less) is read as it is, where a copy that trusted the size looped for ever.
 */
async function readSecret(file: string, id: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_SECRET_BYTES) throw secretTooLarge(id);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
