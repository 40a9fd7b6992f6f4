import type { BuildGraph, RunMount, SourceRef, Stage, Vertex } from '../frontend/index.js';
import { MediaType, canonicalJson, formatPlatformAll, indexMediaTypeFor, sha256, type Descriptor, type ImageIndex, type Platform } from '../registry/index.js';
import type { AssembledImage } from './image/assemble.js';
import { parseGoBool, UserError } from '../common/index.js';

// A build for several platforms compiles the Dockerfile once per target platform and solves the union of those
// graphs in ONE solve: vertex ids and stage names are qualified with the platform (`linux/arm64:s1.2`, stage
// `linux/arm64 build`) so they stay apart, while cache keys (which never contain ids or names, only content and the
// step's own platform) make a stage that runs on $BUILDPLATFORM the same key in every platform's graph. The solver
// shares one promise per key, so such a step runs once and the other platforms take its result as a hit; steps of
// different platforms run in parallel. The qualified stage names also keep the "last build of this step" locators
// of each platform apart, so a miss is explained against the same platform's previous build.

/** One platform's part of a multi-platform graph. */
export interface PlatformPart {
  platform: Platform;
  /** `os/arch[/variant]`, the prefix of this part's vertex ids and stage names. */
  name: string;
  /** Index into the merged graph's `stages` of this platform's target stage. */
  target: number;
  /** What this platform's stage indexes were shifted by in the merged graph. */
  stageOffset: number;
  /** This platform's graph as compiled, before its ids and stage names were qualified. */
  graph: BuildGraph;
}

/** The union of every platform's graph, and where each platform's target is in it. */
export interface MultiPlatformGraph {
  graph: BuildGraph;
  parts: PlatformPart[];
}

/**
 * Whether the build's result is an image index even for one platform, as dockerui's MultiPlatformRequested: several
 * platforms, or the build arg BUILDKIT_MULTI_PLATFORM (Go's ParseBool) set true. Registries and tools that expect
 * an index (a later `imagetools create` that appends a platform) get one. False with several platforms is a
 * conflict, as there.
 */
export function multiPlatformRequested(buildArgs: Record<string, string>, platformCount: number): boolean {
  const many = platformCount > 1;
  const v = buildArgs['BUILDKIT_MULTI_PLATFORM'];
  if (v === undefined || v === '') return many;
  const b = parseGoBool(v);
  if (b === undefined) throw new UserError('INVALID_ARGUMENT', `invalid boolean value for multi-platform: ${v}`, 'give --build-arg BUILDKIT_MULTI_PLATFORM=true or false');
  if (!b && many) throw new UserError('INVALID_ARGUMENT', 'conflicting config: returning multiple target platforms is not allowed', 'drop BUILDKIT_MULTI_PLATFORM=false, or build one platform');
  return b;
}

/** The id in the merged graph of vertex `id` of the platform part named `part`. */
export function qualifiedId(part: string, id: string): string {
  return `${part}:${id}`;
}

/** `graph` with every vertex id and stage qualified by `name`, stage indexes shifted by `offset` to stay unique. */
function qualify(graph: BuildGraph, name: string, offset: number): BuildGraph {
  const id = (v: string): string => qualifiedId(name, v);
  const vertices: Vertex[] = graph.vertices.map((v) => ({ ...v, id: id(v.id), inputs: v.inputs.map(id), stage: v.stage + offset, op: qualifyOp(v.op, id) }));
  const many = graph.stages.length > 1;
  const stages: Stage[] = graph.stages.map((s) => ({
    ...s, index: s.index + offset, name: `${name}${s.name !== undefined ? ` ${s.name}` : many ? ` stage-${s.index}` : ''}`,
    vertices: s.vertices.map(id), result: id(s.result),
  }));
  return { vertices, stages, target: graph.target };
}

/** Ops name other vertices only through SourceRefs: COPY --from and RUN --mount from=. */
function qualifyOp(op: Vertex['op'], id: (v: string) => string): Vertex['op'] {
  const ref = (r: SourceRef): SourceRef => (r.kind === 'vertex' ? { kind: 'vertex', id: id(r.id) } : r);
  if (op.kind === 'copy') return { ...op, from: ref(op.from) };
  if (op.kind === 'exec') {
    const mounts = op.mounts.map((m): RunMount => ((m.type === 'bind' || m.type === 'cache') && m.from !== undefined ? { ...m, from: ref(m.from) } : m));
    return { ...op, mounts };
  }
  return op;
}

/** Merges the per-platform graphs (same order as `platforms`) into one graph to solve. */
export function mergePlatformGraphs(graphs: { platform: Platform; graph: BuildGraph }[]): MultiPlatformGraph {
  const merged: BuildGraph = { vertices: [], stages: [], target: 0 };
  const parts: PlatformPart[] = [];
  let offset = 0;
  for (const { platform, graph } of graphs) {
    const name = formatPlatformAll(platform);   // BuildKit prefixes steps with platforms.FormatAll
    const q = qualify(graph, name, offset);
    parts.push({ platform, name, target: merged.stages.length + q.target, stageOffset: offset, graph });
    merged.vertices.push(...q.vertices);
    merged.stages.push(...q.stages);
    offset += Math.max(0, ...graph.stages.map((s) => s.index)) + 1;
  }
  merged.target = parts[parts.length - 1]?.target ?? 0;
  return { graph: merged, parts };
}

/** The merged graph seen from one platform: its target is that platform's target stage. */
export function platformView(graph: BuildGraph, part: PlatformPart): BuildGraph {
  return { ...graph, target: part.target };
}

/**
 * `--no-cache-filter` names stages as the Dockerfile does; in the merged graph they are qualified (`linux/arm64
 * build`) and renumbered, so each filter becomes the matching stage of every platform.
 */
export function qualifyNoCacheFilter(filter: string[], merged: MultiPlatformGraph): string[] {
  return merged.parts.flatMap((part) => filter.map((f) => (/^\d+$/.test(f) ? String(Number(f) + part.stageOffset) : `${part.name} ${f.toLowerCase()}`)));
}

/** An image index over one image per platform, with the exact bytes that were digested. */
export interface AssembledIndex {
  index: ImageIndex;
  indexBytes: Uint8Array;
  indexDescriptor: Descriptor;
  /** The platform images in index order. */
  images: AssembledImage[];
  /** Attestation manifests (provenance, SBOM), listed in the index after every platform image, as BuildKit does. */
  attestations?: AssembledImage[];
}

/**
 * The OCI image index of `images` (each manifest's descriptor carries its platform), as buildx pushes it, with the
 * attestation manifests (platform unknown/unknown) after them.
 */
export function assembleIndex(images: AssembledImage[], annotations?: Record<string, string>, attestations: AssembledImage[] = []): AssembledIndex {
  const manifests = [...images, ...attestations].map((i) => ({ ...i.manifestDescriptor }));
  // Docker manifests (oci-mediatypes=false) go into a Docker manifest list, as BuildKit's exporter writes it; that
  // format has no annotations.
  const mediaType = indexMediaTypeFor(manifests);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests,
    ...(mediaType === MediaType.ociIndex && annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const indexBytes = Buffer.from(canonicalJson(index));
  return {
    index, indexBytes, indexDescriptor: { mediaType, digest: sha256(indexBytes), size: indexBytes.length }, images,
    ...(attestations.length > 0 ? { attestations } : {}),
  };
}

/** buildx's per-platform directory name for `type=local` and `type=tar` outputs: `linux_arm64`, `linux_arm_v7`. */
export function platformDir(platform: Platform): string {
  return formatPlatformAll(platform).replaceAll('/', '_');
}
