import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { nameKey, showName } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { encodeTarHeader, padding } from './tar-header.js';
import { readTar, TarReadError, type TarEntryHeader } from './tar-reader.js';

// Archives made by GNU tar over real files (names that are not UTF-8, a binary file capability, long names, a
// base-256 uid, a PAX mtime with its fraction, sparse files), by tar-stream (what was read with it before must read the
// same) and by tsbuild's own writer; then damaged ones.

interface Read { header: TarEntryHeader; body: Buffer }

/** `archive` as an async stream of `size`-byte chunks (a header or body may span several). */
async function* chunked(archive: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < archive.length; at += size) yield archive.subarray(at, at + size);
}

async function readAll(archive: Buffer, chunk = 64 * 1024): Promise<Read[]> {
  const out: Read[] = [];
  for await (const entry of readTar(chunked(archive, chunk))) {
    const parts: Buffer[] = [];
    for await (const c of entry.body) parts.push(Buffer.from(c));
    out.push({ header: entry.header, body: Buffer.concat(parts) });
  }
  return out;
}

async function readFailure(archive: Buffer, readBodies = true): Promise<TarReadError> {
  try {
    for await (const entry of readTar(chunked(archive, 4096))) {
      if (readBodies) for await (const c of entry.body) void c;
    }
  } catch (err) {
    if (err instanceof TarReadError) return err;
    throw err;
  }
  throw new Error('the archive was read without an error');
}

const cafe = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1: not UTF-8
const under = (top: string, ...names: Array<string | Buffer>): Buffer => Buffer.concat([Buffer.from(top), ...names.flatMap((n) => [Buffer.from('/'), Buffer.from(n)])]);
const path = (...parts: Array<string | Buffer>): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));
const find = (entries: Read[], name: FsName): Read => {
  const found = entries.find((e) => nameKey(e.header.name) === nameKey(name));
  if (found === undefined) throw new Error(`no entry ${showName(name)} in ${entries.map((e) => showName(e.header.name)).join(', ')}`);
  return found;
};
const gnuTar = (args: string[], cwd: string, what = ['.']): Buffer => execFileSync('tar', [...args, '-cf', '-', ...what], { cwd, maxBuffer: 64 << 20 });

describe('readTar', () => {
  let dir: string;
  let src: string;
  const long = 'd'.repeat(120);
  let capability: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-tar-reader-'));
    src = join(dir, 'src');
    await mkdir(src);
    await writeFile(under(src, cafe), 'latin\n');
    await link(under(src, cafe), under(src, path('h', Buffer.from([0xe9]))));
    await symlink(cafe, under(src, 'link'));
    await mkdir(join(src, long));
    await writeFile(under(src, long, path('f', Buffer.from([0xe9]))), 'deep\n');
    await symlink(path(long, '/f', Buffer.from([0xe9])), under(src, 'longlink'));
    await writeFile(join(src, 'cap'), '');
    // cap_setfcap and cap_ipc_owner (bits 31 and 15) make bytes >= 0x80 in the xattr's value: it is no UTF-8 text.
    try {
      execFileSync('setcap', ['cap_setfcap,cap_ipc_owner=ep', join(src, 'cap')]);
    } catch (err) {
      throw new Error('setcap (libcap2-bin) failed: these tests need it and root (CAP_SETFCAP)', { cause: err });
    }
    capability = execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'security.capability', join(src, 'cap')]);
    await utimes(join(src, 'cap'), 1_620_284_889.5, 1_620_284_889.5);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads names that are not UTF-8, hard and symbolic links to them and a binary xattr from GNU tar --format=pax --xattrs', async () => {
    expect(capability.some((b) => b >= 0x80), 'the capability is binary').to.equal(true);
    const archive = gnuTar(['--format=pax', '--xattrs'], src);
    const entries = await readAll(archive);
    const file = find(entries, path('./', cafe));
    const hard = find(entries, path('./h', Buffer.from([0xe9])));
    // Which of the two names is the file and which the link is up to the order tar walked them in.
    const [data, linked] = file.header.type === 'file' ? [file, hard] : [hard, file];
    expect(data.header.type).to.equal('file');
    expect(data.body.toString()).to.equal('latin\n');
    expect(linked.header.type).to.equal('link');
    expect(nameKey(linked.header.linkname)).to.equal(nameKey(data.header.name));
    expect(linked.header.size).to.equal(0);
    expect(find(entries, './link').header).to.include({ type: 'symlink' });
    expect(find(entries, './link').header.linkname).to.deep.equal(cafe);
    const deep = find(entries, path(`./${long}/f`, Buffer.from([0xe9])));
    expect(deep.body.toString()).to.equal('deep\n');
    expect(find(entries, './longlink').header.linkname).to.deep.equal(path(`${long}/f`, Buffer.from([0xe9])));
    const cap = find(entries, './cap');
    expect(cap.header.xattrs.map(([n]) => n)).to.deep.equal(['security.capability']);
    expect(cap.header.xattrs[0]?.[1].equals(capability)).to.equal(true);
    // GNU tar's PAX format writes every mtime as a record with its fraction.
    expect(cap.header.mtimeNs).to.equal(1_620_284_889_500_000_000n);
  });

  it('reads a PAX atime record with its fraction, and leaves atimeNs undefined where the archive has none', async () => {
    const entries = await readAll(Buffer.concat([
      encodeTarHeader({ name: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 0, pax: { atime: '1700000000.25' } }),
      encodeTarHeader({ name: 'b', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 0 }),
      Buffer.alloc(1024),
    ]));
    expect(find(entries, 'a').header.atimeNs).to.equal(1_700_000_000_250_000_000n);
    expect(find(entries, 'b').header.atimeNs).to.equal(undefined);
  });

  it('reads GNU long names and long link names (types L and K) as their bytes from GNU tar --format=gnu', async () => {
    const archive = gnuTar(['--format=gnu'], src);
    expect(archive.includes(Buffer.from('././@LongLink')), 'GNU tar wrote long-name headers').to.equal(true);
    const entries = await readAll(archive, 100);   // headers and long names split across chunks
    expect(find(entries, path(`./${long}/f`, Buffer.from([0xe9]))).body.toString()).to.equal('deep\n');
    expect(find(entries, './longlink').header.linkname).to.deep.equal(path(`${long}/f`, Buffer.from([0xe9])));
    expect(find(entries, path('./', cafe)).header.name).to.deep.equal(path('./', cafe));
    expect(find(entries, './cap').header.mtimeNs).to.equal(1_620_284_889_000_000_000n);   // whole seconds only
  });

  it('reads a ustar name split into prefix and name, bytes included', async () => {
    const top = join(dir, 'ustar');
    const nested = `${'p'.repeat(60)}/${'q'.repeat(60)}`;
    await mkdir(join(top, nested), { recursive: true });
    await writeFile(under(top, nested, path('f', Buffer.from([0xe9]))), 'split\n');
    const archive = gnuTar(['--format=ustar'], top);
    const deep = find(await readAll(archive), path(`./${nested}/f`, Buffer.from([0xe9])));
    expect(archive[deep.header.offset + 345], 'the name has a prefix').to.not.equal(0);
    expect(deep.body.toString()).to.equal('split\n');
  });

  it('reads a uid past the octal field as GNU tar writes it: base-256 (--format=gnu) or a PAX uid record', async () => {
    const uid = 2 ** 21 + 5;
    const gnu = gnuTar(['--format=gnu', `--owner=${uid}`, '--group=7'], join(src, long));
    const pax = gnuTar(['--format=pax', `--owner=big:${uid}`, '--group=7'], join(src, long));
    const file = find(await readAll(gnu), path('./f', Buffer.from([0xe9])));
    expect(gnu[file.header.offset + 108]).to.equal(0x80);   // the field is base-256
    expect(file.header).to.include({ uid, gid: 7 });
    expect(find(await readAll(pax), path('./f', Buffer.from([0xe9]))).header).to.include({ uid, gid: 7 });
  });

  it('decodes every field as tar-stream did for the archives it writes (UTF-8 names)', async () => {
    const mtime = new Date(1_700_000_000_000);
    const entries: Array<[Partial<Header> & { name: string }, string]> = [
      [{ name: 'etc/passwd', mode: 0o644, uid: 1000, gid: 100, mtime }, 'root:x:0:0\n'],
      [{ name: 'usr/bin/', type: 'directory', mode: 0o755, mtime }, ''],
      [{ name: 'bin', type: 'symlink', linkname: 'usr/bin', mtime }, ''],
      [{ name: 'etc/passwd-', type: 'link', linkname: 'etc/passwd', mtime }, ''],
      [{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime }, ''],
      [{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mtime }, ''],
      [{ name: 'run/fifo', type: 'fifo', mode: 0o600, mtime }, ''],
      [{ name: 'c', type: 'contiguous-file', mtime: new Date(0) }, 'contiguous'],
      [{ name: `${'p'.repeat(120)}/${'n'.repeat(90)}`, mtime }, 'prefix'],
      [{ name: `${'l'.repeat(200)}/${'o'.repeat(120)}`, mtime }, 'pax path'],
      [{ name: 'ünï/cödé', mtime, uid: 2 ** 21 - 1, gid: 2 ** 21 - 1 }, 'ü'],
      [{ name: 'long-link', type: 'symlink', linkname: 'L'.repeat(150), mtime }, ''],
      [{ name: 'x', mode: 0o4755, mtime, pax: { 'SCHILY.xattr.user.a': 'b', 'SCHILY.xattr.user.ü': 'wert' } }, 'x'],
    ];
    const pack = tar.pack();
    const packed = (async () => { const c: Buffer[] = []; for await (const b of pack) c.push(Buffer.from(b as Uint8Array)); return Buffer.concat(c); })();
    for (const [header, body] of entries) pack.entry({ ...header, size: Buffer.byteLength(body) }, body);
    pack.finalize();
    const archive = await packed;

    const before: unknown[] = [];
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => { extract.on('finish', resolve); extract.on('error', reject); });
    extract.on('entry', (h: Header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => parts.push(c as Buffer));
      stream.on('end', () => {
        const xattrs = Object.entries(h.pax ?? {}).filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, v]) => [k.slice(13), Buffer.from(v)]);
        before.push({ name: h.name, linkname: h.linkname ?? '', type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size,
          mtimeNs: BigInt(h.mtime?.getTime() ?? 0) * 1_000_000n, devmajor: h.devmajor, devminor: h.devminor, xattrs, body: Buffer.concat(parts).toString() });
        next();
      });
    });
    extract.end(archive);
    await done;

    const now = (await readAll(archive, 333)).map(({ header: h, body }) => ({ name: h.name, linkname: h.linkname, type: h.type, mode: h.mode,
      uid: h.uid, gid: h.gid, size: h.size, mtimeNs: h.mtimeNs, devmajor: h.devmajor, devminor: h.devminor, xattrs: h.xattrs, body: body.toString() }));
    expect(now).to.have.length(entries.length);
    expect(now).to.deep.equal(before);
  });

  it('reads back what tsbuild writes into a layer: names, link names and xattr values as bytes', async () => {
    const value = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x80, 0x00, 0x80]);
    const header = encodeTarHeader({ name: cafe, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 3, pax: { 'SCHILY.xattr.security.capability': value } });
    const archive = Buffer.concat([header, Buffer.from('abc'), Buffer.alloc(padding(3)),
      encodeTarHeader({ name: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, size: 0, linkname: cafe }), Buffer.alloc(1024)]);
    const [file, sym] = await readAll(archive);
    expect(file?.header.name).to.deep.equal(cafe);
    expect(file?.header.xattrs).to.deep.equal([['security.capability', value]]);
    expect(file?.body.toString()).to.equal('abc');
    expect(sym?.header.linkname).to.deep.equal(cafe);
  });

  it('skips a body that is not read, or read only in part', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const pack = tar.pack();
    const packed = (async () => { const c: Buffer[] = []; for await (const b of pack) c.push(Buffer.from(b as Uint8Array)); return Buffer.concat(c); })();
    for (const n of names) pack.entry({ name: n }, Buffer.alloc(3000 + n.charCodeAt(0), n));
    pack.finalize();
    const archive = await packed;
    const seen: string[] = [];
    let partial = '';
    for await (const entry of readTar(chunked(archive, 1000))) {
      seen.push(String(entry.header.name));
      if (entry.header.name === 'b') for await (const c of entry.body) { partial = c.subarray(0, 1).toString(); break; }
    }
    expect(seen).to.deep.equal(names);
    expect(partial).to.equal('b');
    expect((await readAll(archive, 1000)).map((e) => e.body.length)).to.deep.equal(names.map((n) => 3000 + n.charCodeAt(0)));
  });

  it('refuses to read a body after the next entry was asked for', async () => {
    const archive = gnuTar(['--format=pax'], join(src, long));
    const bodies: AsyncIterable<Buffer>[] = [];
    for await (const entry of readTar(chunked(archive, 512))) bodies.push(entry.body);
    const last = bodies[bodies.length - 1];
    let failure: unknown;
    try { for await (const c of last ?? []) void c; } catch (err) { failure = err; }
    expect(String(failure)).to.match(/was read after the next entry was asked for/);
  });

  it('ends at two zero blocks, at one zero block before the end of the input, and at a block boundary', async () => {
    const archive = gnuTar(['--format=gnu'], join(src, long));
    const names = (await readAll(archive)).map((e) => nameKey(e.header.name));
    expect(names).to.have.length(2);
    const bodyEnd = archive.lastIndexOf(Buffer.from('deep\n')) + 512;
    for (const cut of [bodyEnd, bodyEnd + 512, bodyEnd + 1024]) {
      expect((await readAll(archive.subarray(0, cut))).map((e) => nameKey(e.header.name)), `cut at ${cut}`).to.deep.equal(names);
    }
  });

  it('reads its input to the end, past the end of the archive (a layer diffId covers every byte)', async () => {
    const archive = Buffer.concat([gnuTar(['--format=gnu'], join(src, long)), Buffer.from('trailing bytes')]);
    let read = 0;
    async function* counted(): AsyncGenerator<Buffer> { for await (const c of chunked(archive, 1000)) { read += c.length; yield c; } }
    for await (const entry of readTar(counted())) void entry;
    expect(read).to.equal(archive.length);
  });

  it('drops the records of a PAX global header, as Go\'s reader leaves them to its caller and containerd skips them', async () => {
    const archive = gnuTar(['--format=pax', '--pax-option=SCHILY.xattr.user.global=1,comment=hello'], join(src, long));
    expect(String.fromCharCode(archive[156] ?? 0)).to.equal('g');
    const entries = await readAll(archive);
    expect(entries.map((e) => showName(e.header.name))).to.deep.equal(['./', './f\\xe9']);
    expect(entries.flatMap((e) => e.header.xattrs)).to.deep.equal([]);
  });

  it('refuses a header whose checksum does not match, naming its byte offset', async () => {
    const archive = gnuTar(['--format=gnu'], join(src, long));
    const second = (await readAll(archive))[1]?.header.offset ?? 0;
    const damaged = Buffer.from(archive);
    damaged.writeUInt8(damaged.readUInt8(second + 5) ^ 0x01, second + 5);
    const err = await readFailure(damaged);
    expect(err.message).to.equal(`not a tar archive, or a damaged one: header checksum mismatch at byte ${second}`);
    expect(err.offset).to.equal(second);
    expect((await readFailure(Buffer.alloc(2048, 'not a tar'))).message).to.equal('not a tar archive, or a damaged one: header checksum mismatch at byte 0');
  });

  it('accepts a checksum summed over signed bytes, as old tars wrote it', async () => {
    const block = encodeTarHeader({ name: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 0 });
    block[0] = 0xe9;   // a byte >= 0x80 in the name field: the signed and unsigned sums differ
    let signed = 0;
    for (let i = 0; i < 512; i++) signed += i >= 148 && i < 156 ? 0x20 : ((block[i] ?? 0) << 24) >> 24;
    block.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const [entry] = await readAll(Buffer.concat([block, Buffer.alloc(1024)]));
    expect(entry?.header.name).to.deep.equal(Buffer.from([0xe9]));
  });

  it('refuses a zero block followed by a header', async () => {
    const archive = gnuTar(['--format=gnu'], join(src, long));
    const err = await readFailure(Buffer.concat([Buffer.alloc(512), archive]));
    expect(err.message).to.match(/a zero block at byte 0 is followed by a header at byte 512/);
  });

  it('refuses a truncated archive, naming the entry it ends in and where, whether its body is read or skipped', async () => {
    const archive = gnuTar(['--format=pax'], join(src, long));
    const deep = find(await readAll(archive), path('./f', Buffer.from([0xe9])));
    const cut = archive.subarray(0, deep.header.offset + 512 + 3);
    for (const readBodies of [true, false]) {
      const err = await readFailure(cut, readBodies);
      expect(err.message).to.equal(`truncated archive: it ends at byte ${cut.length}, in the body of entry "./f\\xe9" (header at byte ${deep.header.offset}), 3 of its 5 bytes read`);
      expect(err.entry).to.deep.equal(path('./f', Buffer.from([0xe9])));
    }
    expect((await readFailure(archive.subarray(0, deep.header.offset + 100))).message).to.match(/^truncated archive: it ends at byte \d+, inside the header block at byte \d+$/);
    expect((await readFailure(archive.subarray(0, deep.header.offset))).message).to.match(/ends after the extended header at byte \d+, before the entry it describes/);
  });

  it('refuses GNU sparse files, old (type S) and PAX (GNU.sparse.*), naming the entry', async () => {
    const sparse = join(dir, 'sparse');
    await mkdir(sparse);
    execFileSync('truncate', ['-s', '1M', join(sparse, 'holes')]);
    execFileSync('dd', ['of=' + join(sparse, 'holes'), 'bs=1', 'seek=500000', 'conv=notrunc', 'status=none'], { input: 'x' });
    for (const format of ['gnu', 'pax']) {
      const err = await readFailure(gnuTar([`--format=${format}`, '--sparse'], sparse));
      expect(err.message, format).to.match(/^entry "\.\/(GNUSparseFile\.\d+\/)?holes" \(header at byte \d+\) is a GNU sparse file, which tsbuild does not unpack$/);
    }
  });
});
