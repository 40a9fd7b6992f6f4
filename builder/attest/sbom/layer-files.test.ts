import { expect } from 'chai';
import { MemoryBlobs as Blobs } from '../../../test/fixtures/memory-blobs.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../../../worker/index.js';
import { readLayerFiles } from './layer-files.js';

// readLayerFiles on names that are bytes: the layers are written with tsbuild's own tar writer, which (unlike
// tar-stream's) takes a name as bytes and writes it byte for byte, as Go's archive/tar does.

type Entry = { name: string | Buffer; body?: string; type?: 'file' | 'directory' | 'symlink' };

const entryBytes = (e: Entry): Buffer => {
  const body = Buffer.from(e.body ?? '');
  const type = e.type ?? 'file';
  const header = encodeTarHeader({ name: e.name, type, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: type === 'file' ? body.length : 0, linkname: type === 'symlink' ? '/etc/shadow' : undefined });
  return type === 'file' ? Buffer.concat([header, body, Buffer.alloc(tarPadding(body.length))]) : header;
};

/** A layer tar of `entries`, plain. */
const layerTar = (entries: Entry[]): Buffer => Buffer.concat([...entries.map(entryBytes), Buffer.alloc(TAR_END)]);


/** `text` with its last component's bytes `tail` (not UTF-8) after it. */
const withBytes = (text: string, tail: number[]): Buffer => Buffer.concat([Buffer.from(text), Buffer.from(tail)]);

const STATUS_D = 'var/lib/dpkg/status.d/';
const LATIN1_CAFE = [0x63, 0x61, 0x66, 0xe9];   // "café" in Latin-1: not UTF-8
const REPLACED = 'caf\uFFFD';                  // what a UTF-8 decoder makes of those bytes: a different, valid name
const DPKG = (name: string): string => `Package: ${name}\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n`;

describe('reading layer files by their byte names', () => {
  it('removes with a whiteout whose name is not UTF-8 that entry only, not its U+FFFD twin or a sibling', async () => {
    const blobs = new Blobs();
    const layers = [
      blobs.add(layerTar([
        { name: 'var/lib/dpkg/status', body: DPKG('base') },
        { name: `${STATUS_D}${REPLACED}`, body: DPKG('twin') },
        { name: withBytes(STATUS_D, LATIN1_CAFE), body: DPKG('latin1') },
      ])),
      blobs.add(layerTar([{ name: withBytes(`${STATUS_D}.wh.`, LATIN1_CAFE) }])),
    ];
    const read = await readLayerFiles(layers, blobs, () => true);
    expect([...read.files.keys()].sort()).to.deep.equal(['var/lib/dpkg/status', `${STATUS_D}${REPLACED}`]);
    expect(read.files.get(`${STATUS_D}${REPLACED}`)?.toString()).to.equal(DPKG('twin'));
  });

  it('keeps a Latin-1 name and its U+FFFD twin apart, and never offers the Latin-1 one to wanted', async () => {
    const blobs = new Blobs();
    const layers = [blobs.add(layerTar([
      { name: `${STATUS_D}${REPLACED}`, body: DPKG('twin') },
      { name: withBytes(STATUS_D, LATIN1_CAFE), body: DPKG('latin1') },
    ]))];
    const asked: string[] = [];
    const read = await readLayerFiles(layers, blobs, (p) => { asked.push(p); return true; });
    expect(asked).to.deep.equal([`${STATUS_D}${REPLACED}`]);
    expect([...read.files.keys()]).to.deep.equal([`${STATUS_D}${REPLACED}`]);
    expect(read.files.get(`${STATUS_D}${REPLACED}`)?.toString()).to.equal(DPKG('twin'));
  });

  it('lets an entry whose name is not UTF-8 replace only itself, not the directory of its U+FFFD twin', async () => {
    const blobs = new Blobs();
    const pkg = `app/node_modules/${REPLACED}/package.json`;
    const layers = [
      blobs.add(layerTar([{ name: `app/node_modules/${REPLACED}`, type: 'directory' }, { name: pkg, body: '{"name":"x","version":"1.0.0"}' }])),
      blobs.add(layerTar([{ name: withBytes('app/node_modules/', LATIN1_CAFE), type: 'symlink' }])),
    ];
    const read = await readLayerFiles(layers, blobs, () => true);
    expect([...read.files.keys()]).to.deep.equal([pkg]);
  });

  it('reads a contiguous file (type 7) as the regular file the layer apply makes of it', async () => {
    const blobs = new Blobs();
    const tar = layerTar([{ name: 'lib/apk/db/installed', body: 'P:musl\nV:1\n' }]);
    setTypeflag(tar, 0, '7');
    const read = await readLayerFiles([blobs.add(tar)], blobs, () => true);
    expect(read.files.get('lib/apk/db/installed')?.toString()).to.equal('P:musl\nV:1\n');
  });

  it('reports a layer cut short as INVALID_LAYER naming the layer', async () => {
    const blobs = new Blobs();
    const whole = layerTar([{ name: 'var/lib/dpkg/status', body: DPKG('base').repeat(20) }]);
    const layer = blobs.add(whole.subarray(0, 700));
    const err = await readLayerFiles([layer], blobs, () => true).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_LAYER');
    expect((err as Error).message).to.include(layer.digest);
  });

  it('stops when the signal is aborted', async () => {
    const blobs = new Blobs();
    const layers = [blobs.add(layerTar([{ name: 'var/lib/dpkg/status', body: DPKG('base') }]))];
    const err = await readLayerFiles(layers, blobs, () => true, undefined, AbortSignal.abort()).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('name', 'AbortError');
  });
});

/** Rewrites the type flag of the header block at `at` and its checksum (the sum of its bytes, the field as spaces). */
function setTypeflag(tar: Buffer, at: number, flag: string): void {
  tar.write(flag, at + 156, 'latin1');
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += tar[i] ?? 0;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}
