/** Media types from the OCI image spec and Docker's image manifest v2 schema 2, which registries still serve. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** True for a manifest list / image index media type. */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** True for a single-platform image manifest media type. */
export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

/** The index over `manifests`: a Docker manifest list when every one is a Docker manifest (as buildx and BuildKit write it), else an OCI index. */
export function indexMediaTypeFor(manifests: ReadonlyArray<{ mediaType: string }>): string {
  return manifests.length > 0 && manifests.every((m) => m.mediaType === MediaType.dockerManifest) ? MediaType.dockerManifestList : MediaType.ociIndex;
}
