import type { RegistryClient } from '../client.js';
import { formatReference, type Reference } from '../reference.js';
import { pullArtifact } from './pull-artifact.js';
import { CREATED_ANNOTATION } from './push-artifact.js';
import { attachArtifact, discoverReferrers, type Attached } from './referrers.js';
import { UserError } from '../../common/index.js';

/** The artifactType of a build report attached to the image it built. */
export const BUILD_REPORT_ARTIFACT_TYPE = 'application/vnd.tsbuild.report.v1+json';

/** Attaches a build's report files (JSON, Markdown, HTML …) to the pushed image, stamped with the time. */
export async function attachBuildReport(client: RegistryClient, imageRef: Reference, files: { path: string; mediaType: string }[], signal?: AbortSignal): Promise<Attached> {
  return await attachArtifact(client, imageRef, files, {
    artifactType: BUILD_REPORT_ARTIFACT_TYPE,
    annotations: { [CREATED_ANNOTATION]: new Date().toISOString() },
    ...(signal ? { signal } : {}),
  });
}

/**
 * Pulls the newest build report attached to an image into `dir` and returns the paths written. Newest is by the
 * created annotation; referrers without one count as oldest, and ties go to the one listed last (attached later).
 */
export async function fetchBuildReport(client: RegistryClient, imageRef: Reference, dir: string, signal?: AbortSignal): Promise<string[]> {
  const found = await discoverReferrers(client, imageRef, { artifactType: BUILD_REPORT_ARTIFACT_TYPE, ...(signal ? { signal } : {}) });
  let newest = found.referrers[0];
  for (const r of found.referrers.slice(1)) {
    if ((r.annotations?.[CREATED_ANNOTATION] ?? '') >= (newest?.annotations?.[CREATED_ANNOTATION] ?? '')) newest = r;
  }
  if (newest === undefined) {
    throw new UserError('IMAGE_NOT_FOUND', `no build report is attached to ${formatReference(imageRef)}`, 'reports are attached when the image is pushed by tsbuild with reports enabled; check the image reference');
  }
  return await pullArtifact(client, { registry: imageRef.registry, path: imageRef.path, digest: newest.digest }, dir, signal);
}
