import type { Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';
import type { Platform } from './platform.js';

/** An OCI image manifest (image-spec manifest.md); Docker schema 2 has the same shape. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index (image-spec image-index.md); Docker's manifest list has the same shape. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** One entry of the config's history: what `docker history` shows. */
export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** True for a step that changed only the config (ENV, LABEL, CMD …) and so has no layer. */
  empty_layer?: boolean;
}

/** The runtime part of an image config (image-spec config.md, `config` member). Field names are the spec's. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker extensions that the OCI spec does not define but docker and BuildKit write. */
  Shell?: string[];
  Healthcheck?: HealthConfig;
  OnBuild?: string[];
  ArgsEscaped?: boolean;
}

/** Docker's HEALTHCHECK config; durations are in nanoseconds as docker stores them. */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** An OCI image config (image-spec config.md). */
export interface ImageConfig extends Platform {
  /** null only in a config tsbuild writes, as BuildKit does when nothing gave the image a time (a parsed one drops it). */
  created?: string | null;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: History[];
}

/** A platform's image as resolved from a registry: the manifest descriptor, the manifest and its config. */
export interface ResolvedImage {
  ref: string;
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  platform: Platform;
}
