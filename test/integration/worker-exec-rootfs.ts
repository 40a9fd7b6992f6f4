// Fixture for the worker-exec integration tests: a busybox root filesystem as an overlay lower dir, a fresh
// upper/work pair and state dir per step, and a progress sink that keeps what the step printed.
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import type { ExecEnvironment } from '../../worker/exec/index.js';

/** Writes a busybox rootfs (every applet a relative symlink) with a small /etc/passwd and /etc/group into dir. */
export async function writeBusyboxRootfs(dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'tmp'), { mode: 0o1777 });
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a !== '' && a !== 'busybox');
  for (const a of applets) await symlink('busybox', join(dir, 'bin', a));
  await writeFile(join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\nnobody:x:65534:\n');
  await writeFile(join(dir, 'etc', 'motd'), 'from the lower layer\n');
}

/** A progress sink that records everything a step printed. */
export class RecordingProgress implements ProgressSink {
  stdout = '';
  stderr = '';
  onLog: ((text: string) => void) | undefined;
  log(stream: 'stdout' | 'stderr', chunk: Uint8Array): void {
    const text = Buffer.from(chunk).toString('utf8');
    if (stream === 'stdout') this.stdout += text;
    else this.stderr += text;
    this.onLog?.(text);
  }
  status(): void {}
}

/** One temp root with a shared busybox lower dir; `step()` gives each run its own upper, work and state dirs. */
export class ExecFixture {
  #n = 0;
  private constructor(readonly root: string, readonly lower: string) {}

  static async create(): Promise<ExecFixture> {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-exec-'));
    const lower = join(root, 'lower');
    await writeBusyboxRootfs(lower);
    await mkdir(join(root, 'cache'));
    return new ExecFixture(root, lower);
  }

  /** A fresh environment over the given lower dirs (default: the busybox one). */
  async step(lowerDirs: string[] = [this.lower], extra: Partial<ExecEnvironment> = {}): Promise<ExecEnvironment> {
    const dir = join(this.root, `step${this.#n++}`);
    for (const d of ['upper', 'work', 'state']) await mkdir(join(dir, d), { recursive: true });
    return {
      rootfs: { lowerDirs, upperDir: join(dir, 'upper'), workDir: join(dir, 'work') },
      sources: {},
      cacheDir: join(this.root, 'cache'),
      secrets: {},
      stateDir: join(dir, 'state'),
      tempDir: dir,
      ...extra,
    };
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** An exec op running `script` with /bin/sh -c, as the frontend builds it for a shell-form RUN. */
export function shell(script: string, over: Partial<ExecOp> = {}): ExecOp {
  return {
    kind: 'exec', argv: ['/bin/sh', '-c', script], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    cwd: '/', user: '', mounts: [], network: 'none', security: 'sandbox', ...over,
  };
}
