import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exchangeFiles, SpliceSizeError, spliceFiles } from './output-files.js';

const exec = promisify(execFile);

// spliceFiles and exchangeFiles on real files: the bytes land where they were asked to, on the disk and across to a
// tmpfs (where copy_file_range refuses and the helper copies through pread/pwrite), a source of the wrong size is
// named, and the exchange never moves a directory.
describe('output files: kernel copies and the exchange', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-output-files-'));
    await mkdir(join(dir, 'tmpfs'));
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', join(dir, 'tmpfs')]);
  });
  after(async () => {
    await exec('umount', [join(dir, 'tmpfs')]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function sources(sizes: number[]): Promise<Buffer[]> {
    const bodies = sizes.map((n) => randomBytes(n));
    for (const [i, b] of bodies.entries()) await writeFile(join(dir, `src-${i}`), b);
    return bodies;
  }

  async function spliceInto(outPath: string, bodies: Buffer[], at: number[], sizes = bodies.map((b) => b.length)): Promise<void> {
    const handles = await Promise.all(bodies.map((_, i) => open(join(dir, `src-${i}`), 'r')));
    const out = await open(outPath, 'w');
    try {
      await spliceFiles(out, outPath, handles.map((from, i) => ({ from, at: at[i] ?? 0, size: sizes[i] ?? 0 })));
    } finally {
      await out.close();
      for (const h of handles) await h.close();
    }
  }

  it('copies each file whole to its offset, leaving the gaps zero, on the disk and onto a tmpfs', async () => {
    const bodies = await sources([3 * 1024 * 1024 + 17, 0, 4095, 1]);
    const at = [512, 512 + bodies[0]!.length + 100, 4 * 1024 * 1024, 5 * 1024 * 1024];
    const expected = Buffer.alloc(5 * 1024 * 1024 + 1);
    bodies.forEach((b, i) => b.copy(expected, at[i]));
    for (const outPath of [join(dir, 'out'), join(dir, 'tmpfs', 'out')]) {
      await spliceInto(outPath, bodies, at);
      expect((await readFile(outPath)).equals(expected), outPath).to.equal(true);
    }
  });

  it('names the part whose file is shorter or longer than its size, and the size it has', async () => {
    const bodies = await sources([1000, 2000]);
    for (const [sizes, actual] of [[[1000, 2500], 2000], [[1000, 1500], 2000]] as const) {
      const err = await spliceInto(join(dir, 'out-size'), bodies, [0, 1024], [...sizes]).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(SpliceSizeError);
      expect((err as SpliceSizeError).part.at).to.equal(1024);
      expect((err as SpliceSizeError).actual).to.equal(actual);
    }
  });

  it('says ENOSPC as Node would, with the output named, when the output filesystem is full', async () => {
    const bodies = await sources([20 * 1024 * 1024]);
    const outPath = join(dir, 'tmpfs', 'full');
    const err = await spliceInto(outPath, bodies, [0]).then(() => undefined, (e: unknown) => e) as NodeJS.ErrnoException | undefined;
    expect(err?.code).to.equal('ENOSPC');
    expect(err?.path).to.equal(outPath);
    await rm(outPath, { force: true });
  });

  it('exchanges a new file with an old one, whose removal it leaves to a process of its own', async () => {
    await writeFile(join(dir, 'new'), 'new');
    await writeFile(join(dir, 'dest'), 'old');
    expect(await exchangeFiles(join(dir, 'new'), join(dir, 'dest'))).to.equal(true);
    expect(await readFile(join(dir, 'dest'), 'utf8')).to.equal('new');
    for (let i = 0; i < 100 && (await readdir(dir)).includes('new'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(dir)).to.not.include('new');
  });

  it('moves nothing when the place holds a directory, or nothing at all', async () => {
    await writeFile(join(dir, 'new2'), 'new');
    await mkdir(join(dir, 'a-dir'));
    await writeFile(join(dir, 'a-dir', 'kept'), 'kept');
    expect(await exchangeFiles(join(dir, 'new2'), join(dir, 'a-dir'))).to.equal(false);
    expect((await stat(join(dir, 'a-dir'))).isDirectory()).to.equal(true);
    expect(await readFile(join(dir, 'a-dir', 'kept'), 'utf8')).to.equal('kept');
    expect(await readFile(join(dir, 'new2'), 'utf8')).to.equal('new');
    expect(await exchangeFiles(join(dir, 'new2'), join(dir, 'absent'))).to.equal(false);
    expect(await readFile(join(dir, 'new2'), 'utf8')).to.equal('new');
  });
});
