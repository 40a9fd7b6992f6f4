import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { UserError } from '../../common/index.js';

/**
 * A file's descriptor, its digest computed by streaming the file through sha256 (a 10 GB file costs one chunk of
 * memory). Size is what was hashed, not what stat said, so the two can never disagree.
 */
export async function describeFile(path: string, mediaType: string, signal?: AbortSignal): Promise<Descriptor> {
  const info = await stat(path).catch((err: unknown) => {
    throw new UserError('INVALID_ARGUMENT', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check the file path; paths are relative to the current directory', { cause: err });
  });
  if (!info.isFile()) throw new UserError('INVALID_ARGUMENT', `${path} is not a regular file`, 'an artifact holds files; to push a directory, tar it first');
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(path),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done();
      },
    }),
    ...(signal ? [{ signal }] : []),
  );
  const digest: Digest = `sha256:${hash.digest('hex')}`;
  return { mediaType, digest, size };
}
