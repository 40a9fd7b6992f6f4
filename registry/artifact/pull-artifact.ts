import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RegistryClient } from '../client.js';
import type { Descriptor } from '../oci/descriptor.js';
import { formatReference, type Reference } from '../reference.js';
import { TITLE_ANNOTATION, titlePath } from './title-path.js';
import { makeDirs, UserError } from '../../common/index.js';

/**
 * Pulls an artifact's files into `dir`: each layer with a title annotation is streamed (verified against its digest
 * as it flows) to a temp file beside its destination, flushed, then renamed into place, so a file in `dir` is either
 * whole and correct or absent. Every title is checked before anything is written; a title that would land outside
 * `dir` (absolute, `..`, through a symlink) fails with INVALID_LAYER. Layers without a title are skipped, as ORAS
 * does. Returns the paths written, in manifest order.
 */
export async function pullArtifact(client: RegistryClient, ref: Reference, dir: string, signal?: AbortSignal): Promise<string[]> {
  const name = formatReference(ref);
  const fetched = await client.getManifest(ref, undefined, signal);
  if (fetched.document.kind !== 'manifest') {
    throw new UserError('INVALID_ARGUMENT', `${name} is an image index, not an artifact manifest`, 'pull one of its manifests by digest (name@sha256:…)');
  }
  const planned: { layer: Descriptor; target: string }[] = [];
  const seen = new Set<string>();
  for (const layer of fetched.document.manifest.layers) {
    const title = layer.annotations?.[TITLE_ANNOTATION];
    if (title === undefined) continue;
    const target = titlePath(dir, title, name);
    if (seen.has(target)) throw new UserError('INVALID_LAYER', `artifact ${name}: two layers are titled ${JSON.stringify(title)}`, 'the artifact is malformed; push it again with distinct file names');
    seen.add(target);
    planned.push({ layer, target });
  }
  await makeDirs(dir);
  const root = await realpath(dir);
  const written: string[] = [];
  for (const { layer, target } of planned) {
    const parent = dirname(target);
    await makeDirs(parent);
    // A symlinked directory inside dir (left by an earlier pull, or planted) must not carry a file out of it.
    const realParent = await realpath(parent);
    const rel = relative(root, realParent);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new UserError('INVALID_LAYER', `artifact ${name}: ${relative(dir, target)} would be written through a symlink outside ${dir}`, 'remove the symlink from the output directory or pull into an empty one');
    }
    const tmp = join(realParent, `.${basename(target)}.${randomUUID()}.tmp`);
    try {
      await pipeline(await client.fetchBlob(ref, layer, signal), createWriteStream(tmp, { flags: 'wx', flush: true }), ...(signal ? [{ signal }] : []));
      await rename(tmp, join(realParent, basename(target)));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await syncDir(realParent);
    written.push(target);
  }
  return written;
}

// The rename is only durable once the directory entry is (crash-safe write: temp, fsync, rename, fsync the dir).
async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
