import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Descriptor } from './oci/descriptor.js';
import { RegistryError } from './registry-error.js';

/**
 * A pass-through that hashes and counts what flows through it and fails the stream when the bytes are not the
 * descriptor's: more bytes than `size` fail at once, a short or wrong body fails at the end, before the consumer
 * sees the end of stream. So a consumer that commits only on a clean end never keeps corrupt data.
 */
export function verifyStream(desc: Descriptor, ref: string, onBytes?: (n: number) => void): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > desc.size) {
        done(mismatch(ref, desc, `more than the expected ${desc.size} bytes`));
        return;
      }
      hash.update(chunk);
      onBytes?.(chunk.length);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (seen !== desc.size) {
        done(mismatch(ref, desc, `${seen} bytes instead of ${desc.size}`));
        return;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== desc.digest) done(mismatch(ref, desc, `content has digest ${actual}`));
      else done();
    },
  });
}

function mismatch(ref: string, desc: Descriptor, what: string): RegistryError {
  return new RegistryError({
    code: 'DIGEST_MISMATCH',
    ref,
    message: `blob ${desc.digest} from ${ref}: ${what}`,
    hint: 'the registry or a proxy sent corrupt data; nothing was kept, try again',
    // A truncated body is usually a dropped connection: worth another try.
    transient: true,
  });
}
