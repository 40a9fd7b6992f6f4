import { spawn } from 'node:child_process';
import { Duplex, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Returns `input` decompressed according to its magic bytes: gzip via node:zlib, zstd via the `zstd` CLI, anything
 * else as-is (a plain tar). The bytes read to sniff are put back in front, so nothing is lost.
 */
export async function decompressed(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < ZSTD_MAGIC.length) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    head.push(chunk);
    len += chunk.length;
  }
  const magic = Buffer.concat(head);
  const joined = Readable.from((async function* () {
    try {
      yield* head;
      if (done) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    } finally {
      await it.return?.();
    }
  })(), { objectMode: false });
  if (magic.subarray(0, 2).equals(GZIP_MAGIC)) return joined.pipe(createGunzipStream(joined));
  if (magic.subarray(0, 4).equals(ZSTD_MAGIC)) return zstdDecompress(joined);
  return joined;
}

// 256 KiB output chunks instead of zlib's 16 KiB: each chunk is a round trip to the threadpool and a Buffer for the tar
// parser, the hash and the writer; unpacking the 53 MB Debian base spent ~40 % less wall time in inflate + parse.
const GUNZIP_CHUNK = 256 << 10;

function createGunzipStream(source: Readable): Duplex {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
  source.on('error', (err) => gunzip.destroy(err));
  return gunzip;
}

function zstdDecompress(source: Readable): Readable {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const out = new Readable({ read() { child.stdout.resume(); }, destroy(err, cb) { child.kill('SIGKILL'); source.destroy(); cb(err); } });
  child.stdout.on('data', (c: Buffer) => { if (!out.push(c)) child.stdout.pause(); });
  child.on('error', (err) => out.destroy(new Error('cannot run zstd to decompress a zstd layer', { cause: err })));
  child.on('close', (code) => {
    if (code === 0) out.push(null);
    else out.destroy(new Error(`zstd -d failed (exit ${code}): ${Buffer.concat(stderr).toString('utf8').trim()}`));
  });
  source.on('error', (err) => out.destroy(err));
  child.stdin.on('error', () => undefined);
  source.pipe(child.stdin);
  return out;
}
