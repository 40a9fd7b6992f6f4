/** The kinds of request a client makes, counted separately. */
export type RequestKind =
  | 'ping'
  | 'token'
  | 'manifest-get'
  | 'manifest-put'
  | 'blob-head'
  | 'blob-get'
  | 'blob-upload'
  | 'blob-mount'
  | 'tags-list'
  | 'referrers-get';

/** A snapshot of what a client has done: requests by kind, blob bytes moved, blobs skipped and mounted. */
export interface RegistryMetrics {
  requests: Record<RequestKind, number>;
  blobBytesUp: number;
  blobBytesDown: number;
  blobsSkipped: number;
  blobsMounted: number;
  blobsUploaded: number;
  retries: number;
}

/** A zeroed metrics object. */
export function emptyMetrics(): RegistryMetrics {
  return {
    requests: {
      ping: 0,
      token: 0,
      'manifest-get': 0,
      'manifest-put': 0,
      'blob-head': 0,
      'blob-get': 0,
      'blob-upload': 0,
      'blob-mount': 0,
      'tags-list': 0,
      'referrers-get': 0,
    },
    blobBytesUp: 0,
    blobBytesDown: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    blobsUploaded: 0,
    retries: 0,
  };
}

/** A deep copy, so a snapshot does not move while the client keeps working. */
export function copyMetrics(m: RegistryMetrics): RegistryMetrics {
  return { ...m, requests: { ...m.requests } };
}
