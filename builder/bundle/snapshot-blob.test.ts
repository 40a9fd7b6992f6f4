import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readBlobLayout, SnapshotBlobError, withoutLoadedBuiltinsCodeCache } from './snapshot-blob.js';

const execFileAsync = promisify(execFile);

// A real blob, built by this very node from a small builder script: node:zlib is loaded in its heap, node:dns is
// loaded only once a process started from the blob runs.
const BUILDER = `
const zlib = require('node:zlib');
require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {
  const dns = process.getBuiltinModule('node:dns');
  process.stdout.write(JSON.stringify({ gunzipped: zlib.gunzipSync(zlib.gzipSync('snapshot')).toString(), dns: typeof dns.lookup }));
});
`;

describe('the code cache of a startup snapshot blob (builder/bundle/snapshot-blob.ts)', function () {
  this.timeout(60_000);
  let dir: string;
  let blob: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-blob-'));
    await writeFile(join(dir, 'builder.cjs'), BUILDER);
    await execFileAsync(process.execPath, ['--snapshot-blob', join(dir, 'node.blob'), '--build-snapshot', join(dir, 'builder.cjs')]);
    blob = await readFile(join(dir, 'node.blob'));
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads node\'s layout: the builtins loaded in the heap and a code cache entry for every builtin', () => {
    const layout = readBlobLayout(blob);
    expect(layout.nodeVersion).to.equal(process.versions.node);
    expect(layout.builtinsInHeap).to.include('zlib');
    expect(layout.builtinsInHeap).to.not.include('dns');
    const ids = layout.codeCache.map((e) => e.id);
    expect(ids).to.include.members(['zlib', 'dns']);
    expect(layout.codeCache.at(-1)?.end).to.equal(blob.length);
  });

  it('drops the entries of builtins in the heap, keeps the rest byte for byte, and the blob still runs', async () => {
    const layout = readBlobLayout(blob);
    const trimmed = withoutLoadedBuiltinsCodeCache(blob);
    const after = readBlobLayout(trimmed.blob);
    const inHeap = new Set(layout.builtinsInHeap);
    expect(after.codeCache.map((e) => e.id)).to.deep.equal(layout.codeCache.map((e) => e.id).filter((id) => !inHeap.has(id)));
    expect(after.codeCache.map((e) => e.id)).to.include('dns').and.not.include('zlib');
    expect(trimmed.dropped).to.be.greaterThan(0);
    expect(trimmed.kept).to.equal(after.codeCache.length);
    expect(trimmed.blob.length).to.equal(blob.length - trimmed.droppedBytes);
    // Everything before the code cache, V8's heap included, is untouched; each kept entry is the same bytes.
    expect(trimmed.blob.subarray(0, layout.codeCacheStart).equals(blob.subarray(0, layout.codeCacheStart))).to.equal(true);
    const dnsBefore = layout.codeCache.find((e) => e.id === 'dns');
    const dnsAfter = after.codeCache.find((e) => e.id === 'dns');
    expect(trimmed.blob.subarray(dnsAfter?.start, dnsAfter?.end).equals(blob.subarray(dnsBefore?.start, dnsBefore?.end))).to.equal(true);

    await writeFile(join(dir, 'trimmed.blob'), trimmed.blob);
    const { stdout } = await execFileAsync(process.execPath, ['--snapshot-blob', join(dir, 'trimmed.blob')]);
    expect(JSON.parse(stdout)).to.deep.equal({ gunzipped: 'snapshot', dns: 'function' });
  });

  it('refuses what it does not understand, naming where, instead of writing a blob node would reject', () => {
    const refused = (bytes: Buffer): SnapshotBlobError => {
      try {
        withoutLoadedBuiltinsCodeCache(bytes);
      } catch (err) {
        expect(err).to.be.instanceOf(SnapshotBlobError);
        return err as SnapshotBlobError;
      }
      throw new Error('no error');
    };
    expect(refused(Buffer.from('not a snapshot blob')).message).to.match(/^magic 0x[0-9a-f]+, not node's 0x143da19 \(at byte 0 /);
    expect(refused(blob.subarray(0, blob.length - 100)).message).to.match(/bytes wanted, \d+ left \(at byte \d+ /);
    expect(refused(Buffer.concat([blob, Buffer.from([0])])).message).to.match(/^trailing bytes after the code cache \(1\)/);
    // A count past the end: the code cache's, made twice the blob's length.
    const layout = readBlobLayout(blob);
    const huge = Buffer.from(blob);
    huge.writeBigUInt64LE(BigInt(blob.length) * 2n, layout.codeCacheStart);
    expect(refused(huge).message).to.match(/a size of \d+, larger than the blob/);
  });
});
