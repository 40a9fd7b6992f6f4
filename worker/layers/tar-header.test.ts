import { expect } from 'chai';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { encodeTarHeader } from './tar-header.js';
import { readTar } from './tar-reader.js';
import type { TarHeader } from './tar-header.js';

// What tar-stream 3 writes for one entry without a body, up to its end: the bytes layers were written with before
// tar-header.ts, which every layer digest depends on.
// (The cases here have text names and values: tar-stream writes only text.)
type TextHeader = TarHeader & { name: string; linkname?: string | undefined; pax?: Record<string, string> | undefined };
async function tarStreamHeader(h: TextHeader): Promise<Buffer> {
  const pack = tar.pack();
  const header: Partial<Header> & Pick<Header, 'name'> = {
    name: h.name, type: h.type, mode: h.mode | 0o100000, uid: h.uid, gid: h.gid, mtime: new Date(h.mtime * 1000),
    uname: '', gname: '', ...(h.type === 'file' ? { size: h.size } : {}),
    ...(h.linkname !== undefined ? { linkname: h.linkname } : {}),
    ...(h.devmajor !== undefined ? { devmajor: h.devmajor, devminor: h.devminor } : {}),
    ...(h.pax ? { pax: h.pax } : {}),
  };
  const entry = pack.entry(header);
  if (h.type === 'file' && h.size > 0) entry.write(Buffer.alloc(h.size));
  entry.end(() => undefined);
  pack.finalize();
  const out: Buffer[] = [];
  for await (const chunk of pack) out.push(chunk as Buffer);
  const all = Buffer.concat(out);
  const body = h.type === 'file' ? Math.ceil(h.size / 512) * 512 : 0;
  return all.subarray(0, all.length - 1024 - body);
}

const base = { mode: 0o644, uid: 1000, gid: 100, mtime: 1_700_000_000, size: 0 };
const cases: Array<[string, TextHeader]> = [
  ['a plain file', { ...base, name: 'etc/passwd', type: 'file', size: 1234 }],
  ['mode 000 and setuid', { ...base, name: 'a', type: 'file', mode: 0o4000 }],
  ['a directory', { ...base, name: 'usr/lib/', type: 'directory', mode: 0o755 }],
  ['a symlink', { ...base, name: 'bin', type: 'symlink', linkname: 'usr/bin' }],
  ['a hardlink', { ...base, name: 'b', type: 'link', linkname: 'a' }],
  ['a device', { ...base, name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }],
  ['a fifo', { ...base, name: 'p', type: 'fifo' }],
  ['a name split into prefix and name', { ...base, name: `${'d'.repeat(120)}/${'f'.repeat(90)}`, type: 'file' }],
  ['a name too long for ustar', { ...base, name: `${'d'.repeat(200)}/${'f'.repeat(120)}`, type: 'file', size: 1 }],
  ['a non-ASCII name', { ...base, name: 'ü/ñame', type: 'file', size: 3 }],
  ['a link name over 100 bytes', { ...base, name: 'l', type: 'symlink', linkname: 'L'.repeat(150) }],
  ['xattrs as PAX records', { ...base, name: 'x/', type: 'directory', pax: { 'SCHILY.xattr.user.a': 'b', 'SCHILY.xattr.user.ü': 'wert' } }],
  ['an old mtime', { ...base, name: 'u', type: 'file', mtime: 0 }],
  ['the largest uid and gid a ustar field holds', { ...base, name: 'u', type: 'file', uid: 0o777777, gid: 0o777777 }],
];

describe('encodeTarHeader', () => {
  for (const [what, header] of cases) {
    it(`writes the bytes tar-stream wrote for ${what}`, async () => {
      expect(encodeTarHeader(header).equals(await tarStreamHeader(header))).to.equal(true);
    });
  }

  it('writes a uid or gid its field cannot hold as a PAX record, which GNU tar and readTar read back', async () => {
    // tar-stream wrote 777777 in the field for these, so the file came out owned by 262143.
    const header: TarHeader = { ...base, name: 'owned', type: 'file', size: 2, uid: 2 ** 21 + 5, gid: 300000 };
    const file = join(await mkdtemp(join(tmpdir(), 'tsbuild-tar-ids-')), 'ids.tar');
    await writeFile(file, Buffer.concat([encodeTarHeader(header), Buffer.from('hi'), Buffer.alloc(510 + 1024)]));
    const { stdout } = await promisify(execFile)('tar', ['-tvf', file, '--numeric-owner']);
    expect(stdout).to.match(/^-rw-r--r-- 2097157\/300000 +2 /);
    for await (const entry of readTar(Readable.from([await readFile(file)]))) {
      expect([entry.header.uid, entry.header.gid]).to.deep.equal([2 ** 21 + 5, 300000]);
    }
    await rm(dirname(file), { recursive: true });
  });

  it('writes a name, a link name and an xattr value given as bytes into PAX records as those bytes', () => {
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1: not UTF-8
    const value = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x80, 0x00, 0x80]);
    const out = encodeTarHeader({ ...base, name, type: 'symlink', linkname: name, pax: { 'SCHILY.xattr.security.capability': value } });
    const records = Buffer.concat([
      Buffer.from('13 path='), name, Buffer.from('\n'),
      Buffer.from('17 linkpath='), name, Buffer.from('\n'),
      Buffer.from('45 SCHILY.xattr.security.capability='), value, Buffer.from('\n'),
    ]);
    expect(out.length).to.equal(3 * 512);   // the PAX header, its records (one block), the entry's header
    expect(out.subarray(512, 512 + records.length).equals(records)).to.equal(true);
    expect(out.subarray(0, 9).toString()).to.equal('PaxHeader');
    expect(String.fromCharCode(out[156] ?? 0)).to.equal('x');
  });
});
