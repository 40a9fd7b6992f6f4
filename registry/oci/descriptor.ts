import type { Digest } from './digest.js';
import type { Platform } from './platform.js';

/** An OCI content descriptor: what a blob is, where to find it (its digest) and how big it is. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  urls?: string[];
}
