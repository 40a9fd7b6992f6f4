import { spawn } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { getSystemErrorMessage, getSystemErrorName } from 'node:util';
import { fsattrPath, parseFsattrReport } from '../confined/index.js';

// An output file made of the content store's blobs (the OCI tarball), written with two calls Node does not have,
// through `tsbuild-fsattr` (worker/native/fsattr/splice.c):
// - the blobs are copied by the kernel: read and written through Node's buffers, the 150 MB of a real-world image took
//   150-240 ms where copy_file_range takes 60 (bench/RESULTS.md, "The OCI tarball at the floor");
// - the finished file takes the old one's place with renameat2(RENAME_EXCHANGE): a rename over an existing file makes
//   ext4 write the new file out before it returns, and frees the old one: 270-440 ms for that tarball, each time it
//   is rebuilt in place.

/** A whole file copied to `at` in the output; it must hold exactly `size` bytes. */
export interface SplicePart { from: FileHandle; at: number; size: number }

/** A part whose file does not hold the size it was given (`actual` bytes): a damaged or truncated blob. */
export class SpliceSizeError extends Error {
  constructor(readonly part: SplicePart, readonly actual: number) {
    super(`a file of ${actual} bytes where ${part.size} were expected`);
  }
}

// A process gets the parts' fds as its own; this many at once stays far below any RLIMIT_NOFILE.
const PARTS_PER_PROCESS = 256;
const FIRST_SOURCE_FD = 4;

/**
 * Copies each part's whole file into `out` at its offset, in the kernel. `outPath` names the output in errors: a
 * failure of the copy (ENOSPC, EIO) is thrown as Node throws one (code, errno, syscall, path); a part of another size
 * as SpliceSizeError. The parts' handles stay open: they are the caller's.
 */
export async function spliceFiles(out: FileHandle, outPath: string, parts: readonly SplicePart[], signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < parts.length; i += PARTS_PER_PROCESS) {
    await spliceBatch(out, outPath, parts.slice(i, i + PARTS_PER_PROCESS), signal);
  }
}

async function spliceBatch(out: FileHandle, outPath: string, parts: readonly SplicePart[], signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const child = spawn(fsattrPath(), ['splice'], { stdio: ['pipe', 'ignore', 'pipe', out.fd, ...parts.map((p) => p.from.fd)], signal });
  if (!child.stdin || !child.stderr) throw new Error('unreachable: spawn gives piped stdio');
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  child.stdin.on('error', () => undefined);   // a helper that failed early closes its stdin; its exit says why
  child.stdin.end(parts.map((p, i) => `${FIRST_SOURCE_FD + i}\0${p.at}\0${p.size}\0`).join(''));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  if (code === 0) return;
  const report = parseFsattrReport(stderr);
  const part = report ? parts[Number(report.arg)] : undefined;
  if (report?.op === 'size' && part && typeof report.size === 'number') throw new SpliceSizeError(part, report.size);
  if (report && report.errno > 0) {
    const err: NodeJS.ErrnoException = new Error(`${getSystemErrorName(-report.errno)}: ${getSystemErrorMessage(-report.errno)}, ${report.op} '${outPath}'`);
    Object.assign(err, { code: getSystemErrorName(-report.errno), errno: -report.errno, syscall: report.op, path: outPath });
    throw err;
  }
  throw new Error(`tsbuild-fsattr splice exited with ${String(code)}: ${stderr.trim() || 'no message'}`);
}

/**
 * `newPath` (a complete file) takes the place of `dest`, an existing regular file, in one step; the old file, then
 * named `newPath`, is removed by a process of its own that the caller does not wait for. False when the exchange
 * could not be made (a filesystem without RENAME_EXCHANGE, `dest` gone or not a regular file any more): nothing
 * moved, and a plain rename decides.
 */
export async function exchangeFiles(newPath: string, dest: string): Promise<boolean> {
  const child = spawn(fsattrPath(), ['exchange', newPath, dest], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', (c) => resolve(c));
  });
  return code === 0;
}
