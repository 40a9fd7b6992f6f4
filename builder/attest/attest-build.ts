import { relative } from 'node:path';
import type { BuildGraph } from '../../frontend/index.js';
import type { LayerRef, SolveResult } from '../../solver/index.js';
import type { LinuxWorker } from '../../worker/index.js';
import { formatPlatform, sha256, type Platform } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { ProgressWriter } from '../progress/index.js';
import { attestationManifest, type AttestationManifest } from './attach.js';
import type { AttestRequest } from './attest-options.js';
import { statement, subjectOf } from './in-toto.js';
import { neededVertices } from './needed-vertices.js';
import { dockerPurl, provenancePredicate, provenanceStatement, type ProvenanceInput } from './provenance.js';
import type { LayerDescriptor, PredicateV1 } from './slsa02.js';
import { scanLayers } from './sbom/scan.js';
import { SPDX_PREDICATE_TYPE, spdxDocument } from './spdx.js';

/** One platform's image and the view of the graph that built it. */
export interface AttestTarget { platform: Platform; image: AssembledImage; view: BuildGraph }

/** What the attestations are made from, besides each platform's image. */
export interface AttestContext {
  request: AttestRequest;
  buildId: string;
  started: Date;
  contextDir: string;
  dockerfile: { path: string; text: string };
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  tags: string[];
  /** The build's `vcs:*` attributes as the provenance's metadata holds them (vcsMetadata). */
  vcs: Record<string, string>;
  /** The build's settings as buildx's frontend attributes (ProvenanceInput.frontendAttrs). */
  frontendAttrs: Record<string, string>;
  /** The git repository the context came from (ProvenanceInput.gitContext); absent for a local context. */
  gitContext?: { url: string; commit: string };
  sourceDateEpoch?: number;
  builderPlatform: Platform;
  solved: SolveResult;
  worker: LinuxWorker;
  /** Brings layers that only a remote cache holds into the content store, so they can be scanned. */
  ensureLocal: (layers: LayerRef[]) => Promise<void>;
  progress: ProgressWriter;
  signal: AbortSignal;
  creator: string;
}

/**
 * One attestation of a platform, before it is a statement about something: an image's attestation manifest makes it
 * one about the image, a local or tar output one about the files it wrote (outputs/attestation-files.ts), under
 * `file`, BuildKit's name for it there. `inlineOnly`: never written beside an output's files (buildx's default
 * provenance).
 */
export interface MadeAttestation { file: string; predicateType: string; predicate: unknown; inlineOnly: boolean }

/** What attestImages made: each platform's attestation manifest, and its attestations as files would hold them. */
export interface MadeAttestations { manifests: AttestationManifest[]; byPlatform: MadeAttestation[][] }

/**
 * The SBOMs of one platform: the image's filesystem, then (scan-stage) each other stage it built from. Named as
 * BuildKit's scanner bundle names them: `sbom.spdx.json`, and `sbom-STAGE.spdx.json` for a stage (its name, or
 * `stage-N` as dockerfile2llb names an unnamed one).
 */
async function sboms(t: AttestTarget, subjectName: string, ctx: AttestContext, created: string): Promise<MadeAttestation[]> {
  const out: MadeAttestation[] = [];
  const scan = async (name: string, file: string, layers: LayerRef[]): Promise<void> => {
    await ctx.ensureLocal(layers);
    const found = await scanLayers(layers.map((l) => l.descriptor), ctx.worker.store, undefined, ctx.signal);
    for (const path of found.skipped) ctx.progress.note(`sbom: ${path} in ${name} is over the size limit and was not read`);
    const doc = spdxDocument({ name, digest: t.image.manifestDescriptor.digest }, found.packages, { created, creator: ctx.creator, ...(found.distro ? { distro: found.distro } : {}) });
    out.push({ file, predicateType: SPDX_PREDICATE_TYPE, predicate: doc, inlineOnly: false });
    ctx.progress.note(`sbom: ${found.packages.length} packages in ${name} (${formatPlatform(t.platform)})`);
  };
  const targetStage = t.view.stages[t.view.target];
  const targetLayers = ctx.solved.results[targetStage?.result ?? '']?.layers ?? [];
  await scan(subjectName, 'sbom.spdx.json', targetLayers);
  if (ctx.request.sbom?.scanStage) {
    const needed = new Set(neededVertices(t.view).map((v) => v.id));
    for (const stage of t.view.stages) {
      if (stage === targetStage || !needed.has(stage.result)) continue;
      const layers = ctx.solved.results[stage.result]?.layers;
      if (layers) await scan(`stage ${stage.name ?? stage.index}`, `sbom-${stage.name ?? `stage-${stage.index}`}.spdx.json`, layers);
    }
  }
  return out;
}

/** The name a statement gives its subject: the first tag's purl for the platform, or `_`. */
function subjectNameOf(t: AttestTarget, ctx: AttestContext): string {
  const first = ctx.tags[0];
  return first ? dockerPurl(first, t.platform) : '_';
}

/**
 * Each step's result as a chain of layer descriptors: the image's own (compressed) where the image holds the layer,
 * the build's (an uncompressed tar no registry has seen: what a step of another stage made) elsewhere.
 */
function stepLayers(t: AttestTarget, ctx: AttestContext): Record<string, LayerDescriptor[]> {
  // A layer the build made is an uncompressed tar, its digest the diff id the image config lists for its gzip.
  const diffIds = t.image.config.rootfs.diff_ids;
  const shipped = new Map(t.image.manifest.layers.map((l, i) => [diffIds[i] ?? l.digest, l]));
  const out: Record<string, LayerDescriptor[]> = {};
  for (const [id, fs] of Object.entries(ctx.solved.results)) {
    out[id] = fs.layers.map(({ descriptor }) => {
      const d = shipped.get(descriptor.digest) ?? descriptor;
      return { mediaType: d.mediaType, digest: d.digest, size: d.size };
    });
  }
  return out;
}

/** What one platform's provenance is made from. */
function provenanceInputOf(t: AttestTarget, ctx: AttestContext, finished: Date): ProvenanceInput {
  const dockerfileName = relative(ctx.contextDir, ctx.dockerfile.path) || 'Dockerfile';
  const cacheSources = [...new Set(ctx.solved.records.flatMap((r) => (r.cacheRef ? [r.cacheRef] : [])))];
  return {
    subject: { name: subjectNameOf(t, ctx), digest: t.image.manifestDescriptor.digest },
    buildId: ctx.buildId, startedOn: ctx.started, finishedOn: finished,
    platform: t.platform, builderPlatform: ctx.builderPlatform,
    dockerfile: { name: dockerfileName.startsWith('..') ? 'Dockerfile' : dockerfileName, digest: sha256(ctx.dockerfile.text), text: ctx.dockerfile.text },
    buildArgs: ctx.buildArgs, labels: ctx.labels, ...(ctx.target ? { target: ctx.target } : {}),
    graph: t.view, layers: stepLayers(t, ctx), keys: ctx.solved.keys, records: ctx.solved.records, cacheSources, vcs: ctx.vcs, frontendAttrs: ctx.frontendAttrs,
    ...(ctx.gitContext ? { gitContext: ctx.gitContext } : {}),
    ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
  };
}

/**
 * The build record's provenance (BuildKit keeps one in `max` mode, SLSA v1, with every build's history record,
 * whatever `--provenance` says: solver/llbsolver/history.go, v1 since 3cee8770b): one predicate per platform, in the
 * order of `targets`. buildx's `--metadata-file` reads it (`buildx.build.provenance`, converted to v0.2).
 */
export function recordProvenance(targets: AttestTarget[], ctx: AttestContext): PredicateV1[] {
  const finished = new Date();
  // The builder id the user gave --provenance (or --attest type=provenance) is the record's too, as BuildKit's
  // recordBuildHistory takes `builder-id` from the build's provenance attributes.
  const builderId = ctx.request.provenance ? ctx.request.provenance.builderId : undefined;
  return targets.map((t) => provenancePredicate(provenanceInputOf(t, ctx, finished), { mode: 'max', version: 'v1', ...(builderId !== undefined ? { builderId } : {}) }));
}

/**
 * The attestation manifest of each platform's image (provenance and/or SBOM, as asked), with every blob already in
 * the content store, and the same attestations for the outputs that write them as files. Empty when nothing was asked.
 */
export async function attestImages(targets: AttestTarget[], ctx: AttestContext): Promise<MadeAttestations> {
  const { provenance, sbom } = ctx.request;
  if (!provenance && !sbom) return { manifests: [], byPlatform: targets.map(() => []) };
  const finished = new Date();
  const epoch = ctx.sourceDateEpoch !== undefined ? new Date(ctx.sourceDateEpoch * 1000) : undefined;
  const manifests: AttestationManifest[] = [];
  const byPlatform: MadeAttestation[][] = [];
  for (const t of targets) {
    const subjectName = subjectNameOf(t, ctx);
    const made: MadeAttestation[] = [];
    if (provenance) {
      const { predicateType, predicate } = provenanceStatement(provenanceInputOf(t, ctx, finished), provenance);
      made.push({ file: provenance.filename ?? 'provenance.json', predicateType, predicate, inlineOnly: provenance.inlineOnly === true });
    }
    if (sbom) made.push(...await sboms(t, subjectName, ctx, (epoch ?? finished).toISOString()));
    const subject = [subjectOf(subjectName, t.image.manifestDescriptor.digest)];
    const manifest = attestationManifest(t.image.manifestDescriptor, made.map((m) => statement(subject, m.predicateType, m.predicate)));
    for (const b of manifest.blobs) await ctx.worker.store.put(b.bytes, b.descriptor.mediaType);
    await ctx.worker.store.put(manifest.configBytes, manifest.configDescriptor.mediaType);
    await ctx.worker.store.put(manifest.manifestBytes, manifest.manifestDescriptor.mediaType);
    manifests.push(manifest);
    byPlatform.push(made);
  }
  return { manifests, byPlatform };
}
