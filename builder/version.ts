/** The version `--version` prints (its own module so that `tsbuild --version` loads nothing else: main.ts). */
export const VERSION = '0.1.0';

/**
 * The buildx release whose command line tsbuild follows (its flags, outputs and metadata are checked against that
 * release's sources). `tsbuild version` reports it because the tools that drive buildx gate what they pass on it:
 * docker/actions-toolkit's Buildx.versionSatisfies makes build-push-action pass `--metadata-file` only from 0.6.0 (its
 * `digest` output comes from that file), `--build-context` from 0.8.0, `--attest` from 0.10.0, `--annotation` from
 * 0.12.0 and `--call` from 0.15.0, and bake-action `--var` from 0.31.0. tsbuild's own 0.1.0 turned all of them off.
 */
export const BUILDX_VERSION = '0.36.0';

/**
 * The version field of `tsbuild version` and of the docker CLI plugin's metadata: buildx's release with tsbuild's own
 * version as semver build metadata (`v0.36.0+tsbuild.0.1.0`), which version comparisons ignore and the toolkit's
 * parser (`/\sv?([0-9a-f]{7}|[0-9.]+)/`) stops before.
 */
export const BUILDX_VERSION_FIELD = `v${BUILDX_VERSION}+tsbuild.${VERSION}`;
