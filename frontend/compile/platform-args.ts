import { formatPlatform } from '../../registry/oci/index.js';
import type { Platform } from '../../registry/oci/index.js';

/** The automatic platform ARGs (TARGETPLATFORM … BUILDVARIANT), in the global scope of every Dockerfile. */
export function platformArgs(target: Platform, build: Platform): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
  };
}
