import { expect } from 'chai';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { layerTar } from '../../worker/index.js';

interface Listed { name: string; type: string; linkname?: string | null | undefined; size?: number | undefined }

/** Every header of the tar layerTar makes of `dir`, in order. */
async function list(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    out.push({ name: h.name, type: h.type ?? '', linkname: h.linkname, size: h.size });
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => { extract.on('finish', resolve); extract.on('error', reject); });
  layerTar(dir).pipe(extract);
  await done;
  return out;
}

// layer-tar.ts walks the upper dir and reads xattrs a batch (256 entries) at a time: a tree of several batches must
// give the one pre-order, bytewise-sorted listing, with every later path of a multiply-linked inode as a link to its
// first path, wherever the batch boundaries fall.
describe('layer tar of a tree larger than one walk batch', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-layer-batches-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('lists every entry once, sorted, with hard links across batches as links to the first path', async () => {
    const expected: string[] = [];
    for (let d = 0; d < 3; d++) {
      await mkdir(join(dir, `d${d}`));
      expected.push(`d${d}/`);
      const names = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(3, '0')}`);
      for (const name of names) {
        await writeFile(join(dir, `d${d}`, name), `${d}/${name}`);
        expected.push(`d${d}/${name}`);
      }
    }
    // Links whose first path is batches away from the second, and one with three names.
    await link(join(dir, 'd0/f001'), join(dir, 'd2/z-link'));
    await link(join(dir, 'd0/f299'), join(dir, 'd1/z-link'));
    await link(join(dir, 'd0/f299'), join(dir, 'd2/z-link2'));
    expected.splice(expected.indexOf('d1/f299') + 1, 0, 'd1/z-link');
    expected.push('d2/z-link', 'd2/z-link2');
    const entries = await list(dir);
    expect(entries.map((e) => e.name)).to.deep.equal(expected);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('d0/f001')).to.include({ type: 'file', size: 6 });
    expect(byName.get('d2/z-link')).to.include({ type: 'link', linkname: 'd0/f001' });
    expect(byName.get('d1/z-link')).to.include({ type: 'link', linkname: 'd0/f299' });
    expect(byName.get('d2/z-link2')).to.include({ type: 'link', linkname: 'd0/f299' });
    expect(entries.filter((e) => e.type === 'link')).to.have.length(3);
  });
});
