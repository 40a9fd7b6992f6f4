import { isDigest } from './oci/digest.js';
import type { ImageConfig } from './oci/image.js';
import { jsonObjectOf } from './json-object.js';
import { RegistryError } from './registry-error.js';

/** Checks an image config blob from a registry (os, architecture, rootfs.diff_ids) and returns it typed. */
export function parseImageConfig(bytes: Uint8Array, ref: string): ImageConfig {
  const bad = (what: string): RegistryError => new RegistryError({ code: 'REGISTRY_REQUEST', ref, message: `image config of ${ref} is not valid: ${what}` });
  const c = jsonObjectOf(bytes, bad);
  if (typeof c['os'] !== 'string' || typeof c['architecture'] !== 'string') throw bad('os or architecture missing');
  const rootfs = c['rootfs'] as Record<string, unknown> | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs['type'] !== 'layers' || !Array.isArray(rootfs['diff_ids'])) throw bad('rootfs is not {type: layers, diff_ids: [...]}');
  if (!(rootfs['diff_ids'] as unknown[]).every(isDigest)) throw bad('rootfs.diff_ids holds something that is not a sha256 digest');
  if (c['config'] !== undefined && (typeof c['config'] !== 'object' || Array.isArray(c['config']))) throw bad('config is not an object');
  return c as unknown as ImageConfig;
}
