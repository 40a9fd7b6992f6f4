import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_MANIFEST_BYTES, RegistryError, verifyStream, type Descriptor } from '../../registry/index.js';
import { readStreamBounded } from '../../common/index.js';

// The two reads every CacheStore (gha, s3, azblob) makes of what its service sends: a blob, believed only as far as
// its digest, and the index, bounded. One place, so the stores differ only in how they ask.

/** A blob's body as it streams, checked against `desc` (a mismatch or an overlong body fails the stream before its end). */
export function verifiedBlob(body: Readable, desc: Descriptor, storeName: string): Readable {
  const out = new PassThrough();
  pipeline(body, verifyStream(desc, storeName), out).catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/** The store's index document (`what`: its key) read whole, refused when it is over a manifest's bound. */
export async function readIndexBody(body: Readable, storeName: string, what: string): Promise<Buffer> {
  const bytes = await readStreamBounded(body, MAX_MANIFEST_BYTES);
  if (bytes === undefined) throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: storeName, message: `cache ${storeName}: ${what} is over ${MAX_MANIFEST_BYTES} bytes` });
  return bytes;
}
