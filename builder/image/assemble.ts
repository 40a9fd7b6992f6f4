import type { BuildGraph, Vertex } from '../../frontend/index.js';
import type { FsState } from '../../solver/index.js';
import {
  MediaType, canonicalJson, normalizePlatform, sha256,
  type ContainerConfig, type Descriptor, type History, type ImageConfig, type ImageManifest, type Platform,
} from '../../registry/oci/index.js';
import { goTimeJson } from '../../common/index.js';
import { fillHistoryTimes } from './history-times.js';

/** An image ready to store or push: its config and manifest, each with the exact bytes that were digested. */
export interface AssembledImage {
  config: ImageConfig;
  configBytes: Uint8Array;
  configDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  manifestDescriptor: Descriptor;
}

/** Options that change the image's bytes. */
export interface AssembleOptions {
  /** Seconds since the epoch; when set (SOURCE_DATE_EPOCH), every timestamp is clamped to it for reproducibility. */
  sourceDateEpoch?: number;
  /** Extra labels (`--label`), applied over the Dockerfile's. */
  labels?: Record<string, string>;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  now?: Date;
  /**
   * When each step's result was first built (epoch ms; a cache hit's record time). A layer's history entry carries
   * it and the image is as new as its last layer, so a fully cached rebuild gives the very same image (and a re-push
   * sends no bytes), as docker's builder does.
   */
  builtAt?: Record<string, number>;
  /**
   * The platform the build was asked for (`--platform`, else the host's): the image and its index entry name it even
   * when the target stage runs elsewhere (`FROM --platform=$BUILDPLATFORM`). Without it, the target stage's.
   */
  platform?: Platform;
}

/**
 * Builds the OCI config and manifest of `graph`'s target from the solver's results. History is the base image's,
 * then one entry per instruction along the target's chain, `empty_layer` where the step added no layer: the
 * config-only instructions and `WORKDIR /` (every RUN, COPY, ADD and other WORKDIR has a layer, an empty one when it
 * changed nothing, as BuildKit's; image-spec config.md requires the count of non-empty entries to equal the number
 * of layers).
 */
export function assembleImage(graph: BuildGraph, results: Record<string, FsState>, opts: AssembleOptions = {}): AssembledImage {
  const stage = graph.stages[graph.target];
  if (!stage) throw new Error(`target stage ${graph.target} missing from graph`);
  const fs = results[stage.result];
  if (!fs) throw new Error(`no result for target vertex ${stage.result}`);
  const chain = chainOf(graph, stage.result);
  // Times as BuildKit (Go) writes them into the config: `1970-01-01T00:00:00Z` for SOURCE_DATE_EPOCH=0, not `…00.000Z`.
  const epoch = opts.sourceDateEpoch !== undefined ? goTimeJson(opts.sourceDateEpoch * 1000) : undefined;
  const now = (opts.now ?? new Date()).getTime();
  // With SOURCE_DATE_EPOCH every step's entry has it (dockerfile2llb commitToHistory with d.epoch). Without, only a
  // layer has a time of its own, when it was built; the others, and the config's `created`, come from the layers
  // around them (history-times.ts), as BuildKit's exporter gives them.
  const at = (id: string, addedLayer: boolean): string | undefined => epoch ?? (addedLayer ? goTimeJson(opts.builtAt?.[id] ?? now) : undefined);
  const history = chainHistory(graph, chain, results, at);
  // No layer of the build's and no base entry with a time (FROM scratch and config-only steps): BuildKit's
  // patchImageConfig marshals the last history time it found, a nil *time.Time, so the config says `"created": null`.
  const created = epoch ?? fillHistoryTimes(history) ?? null;
  const runtime: ContainerConfig = { ...stage.config };
  if (opts.labels && Object.keys(opts.labels).length > 0) runtime.Labels = { ...(runtime.Labels ?? {}), ...opts.labels };

  // MAINTAINER sets the author (the chain's last), else the base image's stays: BuildKit starts from the base config.
  const maintainer = chain.findLast((v) => v.op.kind === 'meta' && v.op.author !== undefined)?.op;
  const baseImage = chain[0]?.op.kind === 'image' ? chain[0].op.digest : undefined;
  const author = maintainer?.kind === 'meta' && maintainer.author !== undefined ? maintainer.author
    : graph.stages.find((s) => baseImage !== undefined && s.base?.digest === baseImage)?.base?.config.author;
  const config: ImageConfig = {
    created,
    ...(author !== undefined && author !== '' ? { author } : {}),
    ...configPlatform(opts.platform ?? stage.platform, stage.base?.config ?? stage.platform),
    config: runtime,
    rootfs: { type: 'layers', diff_ids: fs.layers.map((l) => l.diffId) },
    history,
  };
  const configBytes = Buffer.from(canonicalJson(config));
  const configDescriptor: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: fs.layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })),
    ...(opts.annotations && Object.keys(opts.annotations).length > 0 ? { annotations: opts.annotations } : {}),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDescriptor: Descriptor = {
    mediaType: MediaType.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length, platform: exportPlatform(normalizePlatform(opts.platform ?? stage.platform), config),
  };
  return { config, configBytes, configDescriptor, manifest, manifestBytes, manifestDescriptor };
}

/**
 * The os, architecture and variant of the image's config, as BuildKit's Dockerfile2LLB sets them for a requested
 * platform: the target's os and architecture; the target's variant (and os.version) when it names one or when os or
 * architecture changed, else the base image's; then containerd's Normalize (arm64/v8 → arm64). `base` is the target
 * stage's base image config (the stage's own platform for scratch, as BuildKit's emptyImage).
 */
function configPlatform(target: Platform, base: Platform): Platform {
  const same = target.os === base.os && target.architecture === base.architecture;
  const variant = target.variant || !same ? target.variant : base.variant;
  const osVersion = target['os.version'] || !same ? target['os.version'] : base['os.version'];
  return normalizePlatform({
    os: target.os, architecture: target.architecture, ...(variant ? { variant } : {}), ...(osVersion ? { 'os.version': osVersion } : {}),
  });
}

/**
 * The platform the image's index entry names, BuildKit's makeExportPlatform (frontend/dockerui/build.go): the one
 * asked for, its OS version included (a pull of `windows(10.0.20348)/amd64` picks the entry by it); a Windows one
 * without a version takes the image config's (extendWindowsPlatform: the base image's).
 */
function exportPlatform(p: Platform, image: Platform): Platform {
  const version = p['os.version'] || (p.os === 'windows' && image.os === 'windows' ? image['os.version'] : undefined);
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}), ...(version ? { 'os.version': version } : {}) };
}

/** The parent chain that ends in `id`, root (FROM) first. */
function chainOf(graph: BuildGraph, id: string): Vertex[] {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const chain: Vertex[] = [];
  for (let v = byId.get(id); v; v = v.inputs[0] !== undefined ? byId.get(v.inputs[0]) : undefined) chain.unshift(v);
  return chain;
}

/** History along `chain`: the base image's entries first, then each instruction's. */
function chainHistory(graph: BuildGraph, chain: Vertex[], results: Record<string, FsState>, at: (id: string, addedLayer: boolean) => string | undefined): History[] {
  const root = chain[0];
  const base = root ? graph.stages.find((s) => s.vertices[0] === root.id)?.base : undefined;
  const history: History[] = [...(base?.config.history ?? [])];
  for (const v of chain) {
    if (v.op.kind === 'image' || v.op.kind === 'scratch') continue;
    const parentLayers = v.inputs[0] !== undefined ? (results[v.inputs[0]]?.layers.length ?? 0) : 0;
    const addedLayer = (results[v.id]?.layers.length ?? 0) > parentLayers;
    const created = at(v.id, addedLayer);
    history.push({ ...(created === undefined ? {} : { created }), created_by: v.text, comment: 'buildkit.dockerfile.v0', ...(addedLayer ? {} : { empty_layer: true }) });
  }
  return history;
}
