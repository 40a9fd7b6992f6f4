import type { Digest } from '../registry/oci/index.js';
import { TsbuildError } from '../common/index.js';

/** A layer tar that cannot be applied safely or does not match its digest: names the entry and the layer. */
export class LayerError extends TsbuildError {
  readonly code = 'INVALID_LAYER';
  readonly entry: string | undefined;
  readonly layer: string | undefined;
  constructor(message: string, opts: { entry?: string; layer?: string; hint?: string; cause?: unknown } = {}) {
    const where = [opts.layer && `layer ${opts.layer}`, opts.entry !== undefined && `entry "${shown(opts.entry)}"`].filter(Boolean).join(', ');
    super(shown(where ? `${where}: ${message}` : message, 1024), opts.hint ?? 'the image layer is malformed or hostile; rebuild or re-pull it from a trusted source', opts.cause === undefined ? undefined : { cause: opts.cause });
    this.entry = opts.entry;
    this.layer = opts.layer;
  }
}

/** `text` cut in the middle to about `max` characters: a layer's entry name may be a 1 MiB GNU long name. */
function shown(text: string, max = 256): string {
  return text.length <= max ? text : `${text.slice(0, max - 64)}…(${text.length} characters)…${text.slice(-48)}`;
}

/** Content whose bytes do not match the digest or size it was announced with; nothing was stored. */
export class ContentDigestError extends TsbuildError {
  readonly code = 'DIGEST_MISMATCH';
  constructor(readonly expected: { digest: Digest; size: number }, readonly actual: { digest: Digest; size: number }) {
    super(`content mismatch: expected ${expected.digest} (${expected.size} bytes), got ${actual.digest} (${actual.size} bytes)`,
      'the blob was corrupted in transit or the source served wrong data; retry the pull');
  }
}

/**
 * A blob asked for that the content store neither holds nor can make: pruned, or a lazy layer whose snapshot was
 * removed (a build with no output keeps its own layers only in their snapshots, as build cache).
 */
export class MissingBlobError extends TsbuildError {
  readonly code = 'IMAGE_NOT_FOUND';
  constructor(readonly digest: Digest) {
    super(`blob ${digest} is not in the content store, and no snapshot holds it any more`,
      'it was pruned (with the build cache that held it): build the image again');
  }
}
