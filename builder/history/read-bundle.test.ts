import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BuildRecord } from '../../solver/index.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../../worker/index.js';
import { buildBundle } from './export-bundle.js';
import { isGzipFile, reportsOfBundle } from './read-bundle.js';

const record = (id: string): BuildRecord => ({ id, started: 1_700_000_000_000, finished: 1_700_000_001_000, status: 'succeeded', args: {}, tags: [], vertices: [] });
const report = (id: string, started: string): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 1, build: { id, started }, steps: [] }));

/** A gzipped tar of `files` (name → bytes). */
function tarGz(files: [string, Buffer][]): Buffer {
  const out: Buffer[] = [];
  for (const [name, bytes] of files) out.push(encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: bytes.length }), bytes, Buffer.alloc(tarPadding(bytes.length)));
  return gzipSync(Buffer.concat([...out, Buffer.alloc(TAR_END)]));
}

describe('reading the reports a build bundle carries (history export → explain --against / report FILE)', () => {
  let dir = '';
  let n = 0;
  const write = (bytes: Buffer): string => { const f = join(dir, `b${++n}.dockerbuild`); writeFileSync(f, bytes); return f; };
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tsbuild-bundle-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds each build\'s report layer, by the ref the bundle gives it, one build or several', async () => {
    const one = write(buildBundle([{ record: record('b1'), status: Buffer.alloc(0), defaultPlatform: 'linux/amd64', report: report('b1', '2026-01-01T00:00:00Z') }]));
    expect(await isGzipFile(one)).to.equal(true);
    expect(await reportsOfBundle(one)).to.deep.equal([{ ref: 'b1', report: { schemaVersion: 1, build: { id: 'b1', started: '2026-01-01T00:00:00Z' }, steps: [] } }]);
    const two = write(buildBundle([
      { record: record('b1'), status: Buffer.alloc(0), defaultPlatform: 'linux/amd64', report: report('b1', '2026-01-01T00:00:00Z') },
      { record: record('b2'), status: Buffer.alloc(0), defaultPlatform: 'linux/amd64' },   // exported without one: left out
      { record: record('b3'), status: Buffer.alloc(0), defaultPlatform: 'linux/amd64', report: report('b3', '2026-01-02T00:00:00Z') },
    ]));
    expect((await reportsOfBundle(two)).map((r) => r.ref)).to.deep.equal(['b1', 'b3']);
  });

  it('refuses, naming the file, a blob whose bytes are not its digest, an archive without index.json, and what is no gzip tar', async () => {
    const bytes = Buffer.from('{"schemaVersion":2}');
    const forged = write(tarGz([[`blobs/sha256/${'0'.repeat(64)}`, bytes], ['index.json', Buffer.from('{"manifests":[]}')]]));
    await expectRefusal(reportsOfBundle(forged), `${forged} is not a readable build bundle: blob sha256:${'0'.repeat(64)} does not hold the bytes its name says`);
    const noIndex = write(tarGz([['oci-layout', Buffer.from('{}')]]));
    await expectRefusal(reportsOfBundle(noIndex), 'it has no index.json');
    const notTar = write(gzipSync(Buffer.from('hello, not a tar archive at all'.repeat(40))));
    await expectRefusal(reportsOfBundle(notTar), 'is not a readable build bundle');
    const notGzip = write(Buffer.from('{"schemaVersion":1}'));
    expect(await isGzipFile(notGzip)).to.equal(false);
  });

  it('stops a bundle that unpacks past its bound (a few KB of gzip, gigabytes of zeros) without reading it all', async () => {
    const bomb = write(tarGz([['blobs/sha256/ignored', Buffer.alloc(8 * 1024 * 1024)]]));
    await expectRefusal(reportsOfBundle(bomb, { unpacked: 1024 * 1024, heldBlob: 1024, heldTotal: 1024 }), 'it unpacks to more than 1048576 bytes');
  });
});

async function expectRefusal(p: Promise<unknown>, text: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as Error).message).to.contain(text);
    expect((err as { code?: string }).code).to.equal('INVALID_ARGUMENT');
    return;
  }
  expect.fail(`expected a refusal containing ${text}`);
}
