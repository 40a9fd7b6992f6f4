// OCI artifacts (ORAS-style) and referrers: push/pull files as artifact manifests, attach them to images.
export { pushArtifact, DEFAULT_ARTIFACT_TYPE, DEFAULT_FILE_MEDIA_TYPE, CREATED_ANNOTATION, EMPTY_DESCRIPTOR, type ArtifactFile, type ArtifactOptions } from './push-artifact.js';
export { pullArtifact } from './pull-artifact.js';
export { TITLE_ANNOTATION } from './title-path.js';
export { referrersTag } from './referrers-tag.js';
export { attachArtifact, discoverReferrers, listReferrers, resolveSubject, addToReferrersTag, type Attached, type Referrers, type ReferrersVia } from './referrers.js';
export { attachBuildReport, fetchBuildReport, BUILD_REPORT_ARTIFACT_TYPE } from './build-report.js';
