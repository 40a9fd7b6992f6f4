import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A generated build context: its directory and what the scenarios need to know about it. */
export interface Context {
  dir: string;
}

/** The big COPY tree's shape: 200 directories × 100 files, 100 of them 1 MiB, the rest 5,000 bytes (~200 MB). */
export const BIG_TREE = { dirs: 200, filesPerDir: 100, bigFiles: 100, bigSize: 1 << 20, smallSize: 5000 } as const;

async function writeDockerfile(dir: string, lines: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
}

async function writeFiles(dir: string, count: number, size: number, prefix: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(Array.from({ length: count }, (_, i) =>
    writeFile(join(dir, `${prefix}${i}.txt`), `${prefix} ${i}\n${randomBytes(size / 2).toString('hex')}\n`)));
}

/**
 * A small two-stage build: the first stage copies `deps/` and `src/` and runs a few commands over them, the second
 * copies the result, runs one command and, last, copies `static/`, the files the late-COPY scenario edits.
 */
export async function multiStageContext(work: string, base: string): Promise<Context> {
  const dir = join(work, 'contexts/multi-stage');
  await rm(dir, { recursive: true, force: true });
  await writeFiles(join(dir, 'deps'), 50, 4096, 'dep');
  await writeFiles(join(dir, 'src'), 100, 2048, 'src');
  await writeFiles(join(dir, 'static'), 100, 1024, 'page');
  await writeDockerfile(dir, [
    `FROM ${base} AS build`,
    'WORKDIR /work',
    'COPY deps/ ./deps/',
    'RUN mkdir -p /out && cat deps/*.txt > /out/deps.txt && sha256sum /out/deps.txt > /out/deps.sum',
    'COPY src/ ./src/',
    'RUN cat src/*.txt | gzip -1 > /out/app.gz && wc -c /out/app.gz > /out/size',
    'RUN ls -la /out > /out/listing',
    '',
    `FROM ${base}`,
    'COPY --from=build /out/ /app/',
    "RUN echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd && mkdir -p /app/data && chown 1000 /app/data",
    'ENV APP_HOME=/app',
    'COPY static/ /app/static/',
    'CMD ["cat", "/app/size"]',
  ]);
  return { dir };
}

/** Edits one file under `static/` (the last COPY of the multi-stage context) so that only that COPY misses. */
export async function touchLateCopy(ctx: Context, tag: string): Promise<void> {
  await writeFile(join(ctx.dir, 'static/page7.txt'), `page 7 edited by ${tag} at ${process.hrtime.bigint()}\n`);
}

/** Just `FROM base`: builders pull the base image with it before a scenario that must not time the pull. */
export async function baseOnlyContext(work: string, base: string): Promise<Context> {
  const dir = join(work, 'contexts/base-only');
  await writeDockerfile(dir, [`FROM ${base}`]);
  return { dir };
}

/**
 * `steps` small RUN steps over the base image: per-step overhead with next to no work in each. `nonce` goes into
 * the first step's command, so a new nonce makes every step miss in any builder without relying on a no-cache flag.
 */
export async function smallRunsContext(work: string, base: string, steps: number, nonce: string): Promise<Context> {
  const dir = join(work, 'contexts/small-runs');
  await writeDockerfile(dir, [`FROM ${base}`, ...Array.from({ length: steps }, (_, i) => `RUN echo step ${i}${i === 0 ? ` ${nonce}` : ''} > /step-${i}`)]);
  return { dir };
}

/**
 * The ~200 MB / 20,000-file tree (incompressible bytes, so gzip cannot cheat) and `COPY tree/ /data/` over the
 * base. The tree is generated once and kept in bench/work (git-ignored); the Dockerfile is rewritten every run,
 * and `tree/nonce.txt` (33 bytes) changes whenever a scenario needs the COPY to miss.
 */
export async function bigCopyContext(work: string, base: string): Promise<Context & { bytes: number; files: number }> {
  const dir = join(work, 'contexts/big-copy');
  const tree = join(dir, 'tree');
  const marker = join(dir, '.tree-complete');
  const { dirs, filesPerDir, bigFiles, bigSize, smallSize } = BIG_TREE;
  if (!existsSync(marker)) {
    await rm(tree, { recursive: true, force: true });
    const every = (dirs * filesPerDir) / bigFiles;
    for (let d = 0; d < dirs; d++) {
      const sub = join(tree, `pkg${d}`, 'lib');
      await mkdir(sub, { recursive: true });
      await Promise.all(Array.from({ length: filesPerDir }, (_, i) =>
        writeFile(join(sub, `f${i}.js`), randomBytes((d * filesPerDir + i) % every === 0 ? bigSize : smallSize), { mode: i % 10 === 0 ? 0o755 : 0o644 })));
    }
    await writeFile(marker, '');
  }
  await writeDockerfile(dir, [`FROM ${base}`, 'COPY tree/ /data/']);
  await setBigCopyNonce({ dir }, 'initial');
  const { bytes, files } = await treeSize(tree);
  return { dir, bytes, files };
}

/** Rewrites tree/nonce.txt: the COPY's content changes, so it misses and copies the whole tree again in any builder. */
export async function setBigCopyNonce(ctx: Context, nonce: string): Promise<void> {
  await writeFile(join(ctx.dir, 'tree/nonce.txt'), `${nonce.padEnd(32, '.')}\n`);
}

/** Total bytes of regular files under `dir`, and how many there are. */
export async function treeSize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
    files++;
  }
  return { bytes, files };
}
