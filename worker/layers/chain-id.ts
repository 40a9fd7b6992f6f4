import { sha256 } from '../../registry/oci/index.js';
import type { Digest } from '../../registry/oci/index.js';

/**
 * ChainIDs of a layer stack (image-spec config.md, "Layer ChainID"): ChainID(L0) = DiffID(L0),
 * ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). One per layer, bottom first.
 */
export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffId : sha256(`${prev} ${diffId}`));
  }
  return out;
}
