import { relative } from 'node:path';
import type { BuildGraph } from '../../frontend/index.js';
import type { LayerRef, SolveResult } from '../../solver/index.js';
import type { LinuxWorker } from '../../worker/index.js';
import { formatPlatform, sha256, type Platform } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { ProgressWriter } from '../progress/index.js';
import { attestationManifest, type AttestationManifest } from './attach.js';
import type { AttestRequest } from './attest-options.js';
import { statement, subjectOf, type Statement } from './in-toto.js';
import { neededVertices } from './needed-vertices.js';
import { dockerPurl, provenancePredicate, provenanceStatement, type ProvenanceInput } from './provenance.js';
import type { PredicateV1 } from './slsa02.js';
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

/** The SBOM statements of one platform: the image's filesystem, then (scan-stage) each other stage it built from. */
async function sbomStatements(t: AttestTarget, subjectName: string, ctx: AttestContext, created: string): Promise<Statement<unknown>[]> {
  const subject = [subjectOf(subjectName, t.image.manifestDescriptor.digest)];
  const out: Statement<unknown>[] = [];
  const scan = async (name: string, layers: LayerRef[]): Promise<void> => {
    await ctx.ensureLocal(layers);
    const found = await scanLayers(layers.map((l) => l.descriptor), ctx.worker.store, undefined, ctx.signal);
    for (const path of found.skipped) ctx.progress.note(`sbom: ${path} in ${name} is over the size limit and was not read`);
    const doc = spdxDocument({ name, digest: t.image.manifestDescriptor.digest }, found.packages, { created, creator: ctx.creator, ...(found.distro ? { distro: found.distro } : {}) });
    out.push(statement(subject, SPDX_PREDICATE_TYPE, doc));
    ctx.progress.note(`sbom: ${found.packages.length} packages in ${name} (${formatPlatform(t.platform)})`);
  };
  const targetStage = t.view.stages[t.view.target];
  const targetLayers = ctx.solved.results[targetStage?.result ?? '']?.layers ?? [];
  await scan(subjectName, targetLayers);
  if (ctx.request.sbom?.scanStage) {
    const needed = new Set(neededVertices(t.view).map((v) => v.id));
    for (const stage of t.view.stages) {
      if (stage === targetStage || !needed.has(stage.result)) continue;
      const layers = ctx.solved.results[stage.result]?.layers;
      if (layers) await scan(`stage ${stage.name ?? stage.index}`, layers);
    }
  }
  return out;
}

/** The name a statement gives its subject: the first tag's purl for the platform, or `_`. */
function subjectNameOf(t: AttestTarget, ctx: AttestContext): string {
  const first = ctx.tags[0];
  return first ? dockerPurl(first, t.platform) : '_';
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
    graph: t.view, keys: ctx.solved.keys, records: ctx.solved.records, cacheSources, vcs: ctx.vcs, frontendAttrs: ctx.frontendAttrs,
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
 * the content store. Empty when nothing was asked.
 */
export async function attestImages(targets: AttestTarget[], ctx: AttestContext): Promise<AttestationManifest[]> {
  const { provenance, sbom } = ctx.request;
  if (!provenance && !sbom) return [];
  const finished = new Date();
  const epoch = ctx.sourceDateEpoch !== undefined ? new Date(ctx.sourceDateEpoch * 1000) : undefined;
  const out: AttestationManifest[] = [];
  for (const t of targets) {
    const subjectName = subjectNameOf(t, ctx);
    const statements: Statement<unknown>[] = [];
    if (provenance) statements.push(provenanceStatement(provenanceInputOf(t, ctx, finished), provenance));
    if (sbom) statements.push(...await sbomStatements(t, subjectName, ctx, (epoch ?? finished).toISOString()));
    const manifest = attestationManifest(t.image.manifestDescriptor, statements);
    for (const b of manifest.blobs) await ctx.worker.store.put(b.bytes, b.descriptor.mediaType);
    await ctx.worker.store.put(manifest.configBytes, manifest.configDescriptor.mediaType);
    await ctx.worker.store.put(manifest.manifestBytes, manifest.manifestDescriptor.mediaType);
    out.push(manifest);
  }
  return out;
}
