import { expect } from 'chai';
import tar from 'tar-stream';
import type { Descriptor } from '../../../registry/oci/index.js';
import { MemoryBlobs } from '../../../test/fixtures/memory-blobs.js';
import { readLayerFiles } from './layer-files.js';
import { parserFor, scanLayers } from './scan.js';

type Entry = { name: string; body?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string };

/** Layers of `entries`, packed by tar-stream, kept as the content store would serve them. */
class Blobs extends MemoryBlobs {
  async addEntries(entries: Entry[]): Promise<Descriptor> {
    const pack = tar.pack();
    for (const e of entries) {
      if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '/' });
      else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
      else pack.entry({ name: e.name }, e.body ?? '');
    }
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    return this.add(Buffer.concat(chunks));
  }
}

const DPKG = 'Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n';

describe('scanning layer tars', () => {
  it('selects only package databases', () => {
    for (const p of ['var/lib/dpkg/status', 'var/lib/dpkg/status.d/tzdata', 'lib/apk/db/installed', 'app/package-lock.json',
      'app/node_modules/left-pad/package.json', 'node_modules/@types/node/package.json', 'usr/lib/python3/x-1.0.dist-info/METADATA']) {
      expect(parserFor(p), p).to.not.equal(undefined);
    }
    for (const p of ['etc/passwd', 'app/package.json', 'app/node_modules/package.json', 'var/lib/dpkg/status-old']) expect(parserFor(p), p).to.equal(undefined);
  });

  it('applies whiteouts, opaque directories and replacements across layers', async () => {
    const blobs = new Blobs();
    const layers = [
      await blobs.addEntries([{ name: 'a/keep' , body: '1' }, { name: 'a/gone', body: '2' }, { name: 'b/x', body: '3' }, { name: 'c', body: '4' }]),
      await blobs.addEntries([{ name: 'a/.wh.gone' }, { name: 'b/.wh..wh..opq' }, { name: 'b/y', body: '5' }, { name: 'c', type: 'symlink', linkname: '/etc/shadow' }]),
    ];
    const read = await readLayerFiles(layers, blobs, () => true);
    expect([...read.files.keys()].sort()).to.deep.equal(['a/keep', 'b/y']);
  });

  it('never reads through a symlink and skips files over the size limit', async () => {
    const blobs = new Blobs();
    const layers = [await blobs.addEntries([
      { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/etc/shadow' },
      { name: 'lib/apk/db/installed', body: 'P:big\nV:1\n'.repeat(100) },
    ])];
    const read = await readLayerFiles(layers, blobs, () => true, { maxFileBytes: 64, maxTotalBytes: 1024 });
    expect([...read.files.keys()]).to.deep.equal([]);
    expect(read.skipped).to.deep.equal(['lib/apk/db/installed']);
  });

  it('lists each package once and reads the distribution from os-release', async () => {
    const blobs = new Blobs();
    const layers = [
      await blobs.addEntries([{ name: './usr/lib/os-release', body: 'ID=debian\nVERSION_ID="12"\n' }, { name: './var/lib/dpkg/status', body: DPKG }]),
      await blobs.addEntries([
        { name: 'app/package-lock.json', body: JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/left-pad': { version: '1.3.0' } } }) },
        { name: 'app/node_modules/left-pad/package.json', body: '{"name":"left-pad","version":"1.3.0"}' },
      ]),
    ];
    const found = await scanLayers(layers, blobs);
    expect(found.distro).to.deep.equal({ id: 'debian', versionId: '12' });
    expect(found.packages.map((p) => `${p.kind}:${p.name}@${p.version}`)).to.deep.equal(['npm:left-pad@1.3.0', 'deb:hello@2.10-3']);
  });
});
