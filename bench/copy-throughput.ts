// Measures COPY throughput: copyInto of a 200 MB / 20,000-file tree into an empty directory, against
// `tar -C src -cf - . | tar -C dst -xf -` and `cp -a`. Run: scripts/node dist/bench/copy-throughput.js
// The tree is generated under bench/work/ (never committed); the page cache is warm for every contender alike.
import { execFileSync, execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CopyOp } from '../frontend/index.js';
import { copyInto } from '../worker/fileops/index.js';

const WORK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/work');
const SRC = path.join(WORK, 'src');
const DIRS = 200;
const FILES_PER_DIR = 100;
const BIG_FILES = 100;          // 100 × 1 MiB, the rest small: ~200 MB in 20,000 files
const RUNS = 3;

async function generate(): Promise<void> {
  if (existsSync(path.join(SRC, '.complete'))) return;
  await rm(SRC, { recursive: true, force: true });
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(SRC, `pkg${d}`, 'lib');
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: FILES_PER_DIR }, (_, i) => {
      const isBig = (d * FILES_PER_DIR + i) % (DIRS * FILES_PER_DIR / BIG_FILES) === 0;
      return writeFile(path.join(dir, `f${i}.js`), randomBytes(isBig ? 1 << 20 : 5000), { mode: i % 10 === 0 ? 0o755 : 0o644 });
    }));
  }
  await writeFile(path.join(SRC, '.complete'), '');
}

async function time(label: string, run: (dst: string) => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dst = path.join(WORK, `dst-${label.replace(/[^a-z]/gi, "")}`);
    await rm(dst, { recursive: true, force: true });
    await mkdir(dst);
    execSync('sync');
    const start = process.hrtime.bigint();
    await run(dst);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    await rm(dst, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)] ?? 0;
  console.log(`${label.padEnd(10)} median ${median.toFixed(0)} ms  (runs: ${samples.map((s) => s.toFixed(0)).join(', ')})`);
  return median;
}

const op: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources: ['.'], dest: '/app/', link: false, parents: false, exclude: [] };
const progress = { log: () => undefined, status: () => undefined };

await generate();
const du = execFileSync('du', ['-sb', SRC]).toString().split('\t')[0];
console.log(`tree: ${DIRS * FILES_PER_DIR} files, ${(Number(du) / 1e6).toFixed(0)} MB in ${SRC}`);
const ours = await time('copyInto', async (dst) => { await copyInto(op, { kind: 'dir', path: SRC, excludes: [] }, dst, new AbortController().signal, progress); });
const tarPipe = await time('tar|tar', async (dst) => { execSync(`tar -C ${SRC} -cf - . | tar -C ${dst} -xf -`); });
const cp = await time('cp -a', async (dst) => { execFileSync('cp', ['-a', `${SRC}/.`, `${dst}/`]); });
console.log(`ratio copyInto / tar|tar = ${(ours / tarPipe).toFixed(2)}, copyInto / cp -a = ${(ours / cp).toFixed(2)}`);
