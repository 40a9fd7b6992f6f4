import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FsState } from '../../solver/index.js';
import { layerTar, withMountedSnapshot, type LinuxWorker } from '../../worker/index.js';
import { UserError } from '../../common/index.js';

/** Runs `fn` on the final filesystem mounted read-only (an empty temp dir for an empty scratch image). */
async function withFinalFs<T>(worker: LinuxWorker, fs: FsState, fn: (dir: string) => Promise<T>): Promise<T> {
  if (fs.snapshot === null) {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-empty-'));
    try { return await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
  }
  return withMountedSnapshot(worker.snapshotter, fs.snapshot, fn);
}

/** `-o type=local,dest=DIR`: the final filesystem copied into DIR, owners, modes, links and times kept. */
export async function writeLocal(worker: LinuxWorker, fs: FsState, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await withFinalFs(worker, fs, (dir) => new Promise<void>((resolve, reject) => {
    const cp = spawn('cp', ['-a', '--', `${dir}/.`, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    cp.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    cp.on('error', reject);
    cp.on('close', (code) => (code === 0 ? resolve() : reject(new UserError('INVALID_ARGUMENT', `writing ${dest} failed: ${err.trim()}`, 'check that the destination is writable'))));
  }));
}

/** `-o type=tar,dest=FILE` (or `-o -` for stdout): the final filesystem as one tar, sorted and reproducible. */
export async function writeFsTar(worker: LinuxWorker, fs: FsState, dest: string, signal: AbortSignal): Promise<void> {
  await withFinalFs(worker, fs, async (dir) => {
    await pipeline(layerTar(dir), dest === '-' ? process.stdout : createWriteStream(dest), { signal });
  });
}
