import { createHash } from 'node:crypto';

/** A content address as the OCI image spec writes it; tsbuild only produces and accepts sha256. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True when `value` is a well-formed sha256 digest string. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Parses a digest received from outside (registry, config file, user), throwing on anything malformed. */
export function parseDigest(value: unknown): Digest {
  if (!isDigest(value)) throw new Error(`not a sha256 digest: ${JSON.stringify(value)}`);
  return value;
}

/** The sha256 digest of bytes or a string (UTF-8). */
export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest, as used in file names and the referrers tag schema. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}
