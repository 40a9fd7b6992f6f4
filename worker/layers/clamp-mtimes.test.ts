import { expect } from 'chai';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { clampMtimes } from './clamp-mtimes.js';
import { LayerError } from '../errors.js';
import { encodeTarHeader, padding, type TarHeader } from './tar-header.js';
import { readTar, type TarEntryHeader } from './tar-reader.js';

const EPOCH = 1_700_000_000;
const LATER = EPOCH + 86_400;
const cafe = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1: not UTF-8
// security.capability for cap_setfcap=ep (VFS_CAP_REVISION_2): bytes >= 0x80, not UTF-8.
const capability = Buffer.from('0100000200000080000000000000000000000000', 'hex');

/** A tar of `entries`, written as layerTar writes them (encodeTarHeader, bodies of `size` bytes of 'x'). */
function archive(entries: TarHeader[], end: Buffer = Buffer.alloc(1024)): Buffer {
  const parts: Buffer[] = [];
  for (const h of entries) {
    parts.push(encodeTarHeader(h));
    if (h.type === 'file') parts.push(Buffer.alloc(h.size, 'x'), Buffer.alloc(padding(h.size)));
  }
  return Buffer.concat([...parts, end]);
}

async function rewritten(tarBytes: Buffer, epoch = EPOCH): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of clampMtimes(Readable.from([tarBytes]), epoch)) out.push(chunk);
  return Buffer.concat(out);
}

async function headers(tarBytes: Buffer): Promise<TarEntryHeader[]> {
  const out: TarEntryHeader[] = [];
  for await (const entry of readTar(Readable.from([tarBytes]))) {
    let body = 0;
    for await (const chunk of entry.body) body += chunk.length;
    expect(body, 'body length').to.equal(entry.header.size);
    out.push(entry.header);
  }
  return out;
}

// The rewrite as builder/outputs/export-image.ts did it with tar-stream before clampMtimes (copied): the bytes every
// rewritten layer had, which a layer whose names and xattrs are UTF-8 must keep.
async function tarStreamRewrite(tarBytes: Buffer, epochSeconds: number): Promise<Buffer> {
  const limit = epochSeconds * 1000;
  const extract = tar.extract();
  const pack = tar.pack();
  const out: Buffer[] = [];
  const reading = pipeline(Readable.from([tarBytes]), extract);
  const copying = (async () => {
    for await (const entry of extract) {
      const header: Header = { ...entry.header };
      if (header.mtime && header.mtime.getTime() > limit) header.mtime = new Date(limit);
      const pax = header.pax as Record<string, string> | undefined;
      if (pax?.mtime !== undefined && Number(pax.mtime) * 1000 > limit) header.pax = { ...pax, mtime: String(epochSeconds) };
      await pipeline(entry, pack.entry(header));
    }
    pack.finalize();
  })();
  const writing = pipeline(pack, new Writable({ write(chunk: Buffer, _e, cb) { out.push(chunk); cb(); } }));
  await Promise.all([reading, copying, writing]);
  return Buffer.concat(out);
}

const base = { mode: 0o644, uid: 0, gid: 0, size: 0 };

describe('clampMtimes', () => {
  it('keeps names, link names and a binary xattr byte for byte and clamps only mtimes later than the epoch', async () => {
    const latin = Buffer.concat([Buffer.from('latin/'), cafe]);
    const input = archive([
      { ...base, name: 'latin/', type: 'directory', mode: 0o755, mtime: LATER },
      { ...base, name: latin, type: 'file', size: 6, mtime: LATER, uid: 1000, gid: 100 },
      { ...base, name: 'latin/link', type: 'symlink', mode: 0o777, linkname: cafe, mtime: EPOCH - 10 },
      { ...base, name: Buffer.concat([Buffer.from('latin/h'), Buffer.from([0xe9])]), type: 'link', linkname: latin, mtime: LATER },
      { ...base, name: 'captool', type: 'file', mode: 0o755, size: 3, mtime: LATER, pax: { 'SCHILY.xattr.security.capability': capability, 'SCHILY.xattr.user.note': 'hi' } },
      { ...base, name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3, mtime: LATER },
      { ...base, name: 'fifo', type: 'fifo', mtime: 5 },
      { ...base, name: 'secret', type: 'file', mode: 0, size: 1, mtime: 5 },
    ]);
    const before = await headers(input);
    const after = await headers(await rewritten(input));
    expect(after).to.have.length(before.length);
    for (const [i, h] of after.entries()) {
      const was = before[i];
      if (was === undefined) throw new Error('missing entry');
      const clamped = was.mtimeNs > BigInt(EPOCH) * 1_000_000_000n ? BigInt(EPOCH) * 1_000_000_000n : was.mtimeNs;
      expect({ ...h, offset: 0 }, `entry ${i}`).to.deep.equal({ ...was, offset: 0, mtimeNs: clamped });
    }
    expect(after[1]?.name).to.deep.equal(latin);
    expect(after[2]?.linkname).to.deep.equal(cafe);
    expect(after[4]?.xattrs).to.deep.equal([['security.capability', capability], ['user.note', Buffer.from('hi')]]);
    expect(after[7]?.mode, 'a mode of 000 stays 000 (tar-stream made it 0644)').to.equal(0);
  });

  it('writes the bytes the tar-stream rewrite wrote for a layer whose names and xattrs are UTF-8', async () => {
    const input = archive([
      { ...base, name: 'etc/', type: 'directory', mode: 0o755, mtime: LATER },
      { ...base, name: 'etc/passwd', type: 'file', size: 700, mtime: LATER, uid: 1000, gid: 100 },
      { ...base, name: 'bin', type: 'symlink', mode: 0o777, linkname: 'usr/bin', mtime: EPOCH - 1 },
      { ...base, name: 'etc/group', type: 'link', linkname: 'etc/passwd', mtime: LATER },
      { ...base, name: 'ü/ñame', type: 'file', size: 3, mtime: LATER },
      { ...base, name: `${'d'.repeat(200)}/${'f'.repeat(120)}`, type: 'file', size: 1, mtime: 1 },
      { ...base, name: 'l', type: 'symlink', linkname: 'L'.repeat(150), mtime: LATER },
      { ...base, name: 'x/', type: 'directory', mode: 0o755, mtime: LATER, pax: { 'SCHILY.xattr.user.a': 'b', 'SCHILY.xattr.user.ü': 'wert' } },
      { ...base, name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mtime: LATER },
      { ...base, name: 'p', type: 'fifo', mode: 0o600, mtime: LATER },
    ]);
    const ours = await rewritten(input);
    expect(ours.equals(await tarStreamRewrite(input, EPOCH))).to.equal(true);
    expect(ours.equals(input), 'something was clamped').to.equal(false);
  });

  it('clamps a PAX mtime with a fraction to the epoch and keeps an earlier one, fraction and all', async () => {
    const input = archive([
      { ...base, name: 'late', type: 'file', mtime: EPOCH, pax: { mtime: `${EPOCH}.5` } },
      { ...base, name: 'early', type: 'file', mtime: EPOCH - 1, pax: { mtime: `${EPOCH - 1}.25` } },
    ]);
    const after = await headers(await rewritten(input));
    expect(after.map((h) => h.mtimeNs)).to.deep.equal([BigInt(EPOCH) * 1_000_000_000n, BigInt(EPOCH - 1) * 1_000_000_000n + 250_000_000n]);
  });

  it('writes a contiguous file (type 7) as a regular file with its body', async () => {
    const block = encodeTarHeader({ ...base, name: 'c', type: 'file', size: 4, mtime: 1 });
    block[156] = 0x37;   // '7'
    block.write('        ', 148);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const input = Buffer.concat([block, Buffer.from('data'), Buffer.alloc(508), Buffer.alloc(1024)]);
    const [h] = await headers(await rewritten(input));
    expect(h?.type).to.equal('file');
    expect(h?.typeflag).to.equal('0');
    expect(h?.size).to.equal(4);
  });

  it('refuses an entry of a type no layer holds with an INVALID_LAYER error naming it', async () => {
    const block = encodeTarHeader({ ...base, name: 'vol', type: 'file', mtime: 1 });
    block[156] = 0x56;   // 'V': a GNU volume header
    block.write('        ', 148);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const err = await rewritten(Buffer.concat([block, Buffer.alloc(1024)])).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(LayerError);
    expect((err as LayerError).code).to.equal('INVALID_LAYER');
    expect((err as LayerError).entry).to.equal('vol');
  });
});
