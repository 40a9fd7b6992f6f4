import type { BuildGraph, SourceRef } from '../../frontend/index.js';
import { localMountName } from '../options/frontend-attrs.js';
import type { CacheKey, VertexRecord } from '../../solver/index.js';
import { DOCKER_HUB, digestHex, formatPlatform, parseReference, type Digest, type Platform } from '../../registry/index.js';
import { statement, subjectOf, type Statement } from './in-toto.js';
import { neededVertices } from './needed-vertices.js';
import { redactDeep, redactedArgs } from './redact.js';
import { redactCredentials } from '../../common/index.js';
import { parseGitRef } from '../../worker/index.js';
import { toSlsa02, type BuildkitMetadata, type LayerDescriptor, type Material, type PredicateV1 } from './slsa02.js';

// SLSA provenance with BuildKit's field names (moby/buildkit docs/attestations/slsa-definitions.md), v1 by default
// as BuildKit since dockerfile/1.22.0 (frontend/attestations/parse.go defaultSLSAVersion, a12f3aae7), v0.2 with
// `version=v0.2` (converted from the v1 predicate, as BuildKit does: slsa02.ts). `min` carries the request without build args; `max` adds them (secret-looking
// values redacted) and tsbuild's own step list where BuildKit puts its LLB: each step's instruction, inputs, cache key
// ingredients and whether it ran or came from a cache, and why.
//
// Deterministic provenance (issue 21 follow-up). BuildKit writes a random `buildInvocationID` and the wall-clock
// `buildStartedOn`/`buildFinishedOn` into every statement, so each build, even a fully cached one, gets a new
// attestation manifest and a new index digest. tsbuild attaches `mode=min` provenance by default (as buildx), so in
// `min` the statement holds only what follows from the build's inputs and its result:
// - the invocation id and both timestamps are left out. SLSA allows it: in v0.2 every `metadata` field is optional
//   (https://slsa.dev/spec/v0.2/provenance#fields: buildInvocationID, buildStartedOn, buildFinishedOn "(optional)"),
//   and in v1 `runDetails.metadata` and its invocationID/startedOn/finishedOn are all optional
//   (https://slsa.dev/spec/v1.0/provenance#buildmetadata). A content-derived id was not chosen: SLSA says the id
//   SHOULD be globally unique to one invocation, and two invocations sharing one would mislead a log search.
// - `--cache-from` sources that answered a step are listed only in `max`: which cache served a step depends on the
//   cache's state, not on the build's inputs (a rebuild served by the local cache would otherwise differ). For the
//   same reason the request's `no-cache` (--no-cache, --no-cache-filter: whether the cache may answer) is `max`'s only.
// So a cached rebuild, on this root or another, gives the same provenance bytes, attestation manifest and index.
// `max` keeps the id (it names the build in tsbuild's history and reports) and the times, clamped to
// SOURCE_DATE_EPOCH when it is set, and its step list says which steps were cache hits: it describes one run.

/** The predicate types. */
export const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
/** The version written when none is asked for: BuildKit's (frontend/attestations/parse.go defaultSLSAVersion). */
export const DEFAULT_SLSA_VERSION = 'v1';
const BUILD_TYPE_V1 = 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md';

/** `--provenance` once parsed. */
export interface ProvenanceOptions {
  mode: 'min' | 'max'; version: 'v0.2' | 'v1'; builderId?: string;
  /** `reproducible=true|false` as given: the claim written, as BuildKit writes its attribute; absent, tsbuild's own. */
  reproducible?: boolean;
  /**
   * `inline-only=true` (buildx's default provenance is): only an image carries it, never the files of a local or tar
   * output (BuildKit's local exporter filters such attestations out).
   */
  inlineOnly?: boolean;
  /** `filename=NAME`: the statement's file name in a local or tar output (BuildKit's default `provenance.json`). */
  filename?: string;
}

/** Everything a provenance statement is made from: one platform's image of one build. */
export interface ProvenanceInput {
  /** The image manifest this provenance is about, and the name to give it (`pkg:docker/…` or `_`). */
  subject: { name: string; digest: Digest };
  buildId: string;
  startedOn: Date;
  finishedOn: Date;
  platform: Platform;
  builderPlatform: Platform;
  /**
   * The Dockerfile's name relative to the context (what BuildKit calls `filename`) and the digest of its text; the
   * text itself, which `max` carries as BuildKit's source info.
   */
  dockerfile: { name: string; digest: Digest; text?: string };
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  /**
   * The build's settings as the frontend attributes buildx sends (options/frontend-attrs.ts buildSettingsAttrs, with
   * `vcs:*`): `no-cache`, `force-network-mode`, `add-hosts`, `shm-size`, `ulimit`, `context:NAME` reach the request.
   */
  frontendAttrs?: Record<string, string>;
  /** The platform's view of the solved graph: its target is the image's stage. */
  graph: BuildGraph;
  /**
   * Each step's result as its chain of layers (bottom first), as the image holds them where it does (compressed), else
   * as the build keeps them: what `max` lists as BuildKit's `layers`. A step the build did not run is not in it.
   */
  layers?: Record<string, LayerDescriptor[]>;
  keys: Record<string, CacheKey>;
  records: VertexRecord[];
  /** `--cache-from` references that answered at least one step. */
  cacheSources: string[];
  /** SOURCE_DATE_EPOCH (seconds), when set: `max` clamps its times to it; `reproducible` needs it. */
  sourceDateEpoch?: number;
  /** The git checkout the build ran in (vcsMetadata): BuildKit's metadata `vcs`, in `min` and `max` alike. */
  vcs?: Record<string, string>;
  /**
   * The git repository the context was fetched from: `url` as given (`URL#REF:DIR`, `URL?ref=…`, credentials
   * redacted) and the commit its ref resolved to. Absent for a local context (BuildKit's `locals`).
   */
  gitContext?: { url: string; commit: string };
}

/**
 * The `vcs` of BuildKit's provenance metadata from the build's frontend attributes (provenance/predicate.go
 * NewPredicate): every `vcs:KEY` as KEY, empty values left out, the source's credentials redacted once more.
 */
export function vcsMetadata(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (!k.startsWith('vcs:') || v === '') continue;
    out[k.slice('vcs:'.length)] = k === 'vcs:source' ? redactCredentials(v) : v;
  }
  return out;
}

/** The purl BuildKit gives an image: `pkg:docker/alpine@3.17?platform=linux%2Famd64`, registry kept when not Docker Hub. */
export function dockerPurl(ref: string, platform?: Platform): string {
  // An image from a local OCI layout (oci-layout://DIR[:TAG][@DIGEST], a named context) is no registry reference:
  // BuildKit names its local layout images with the purl type `oci`.
  const layout = /^oci-layout:\/\/(.+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
  if (layout) {
    const name = layout[1]?.split('/').filter(Boolean).pop() ?? 'layout';
    return `pkg:oci/${name}@${layout[3] ?? layout[2] ?? 'latest'}${platform ? `?platform=${encodeURIComponent(formatPlatform(platform))}` : ''}`;
  }
  const r = parseReference(ref);
  const name = r.registry === DOCKER_HUB ? r.path.replace(/^library\//, '') : `${r.registry}/${r.path}`;
  const version = r.tag ?? r.digest ?? 'latest';
  return `pkg:docker/${name}@${version}${platform ? `?platform=${encodeURIComponent(formatPlatform(platform))}` : ''}`;
}

/**
 * The images the build read, each with its digest, as BuildKit lists its materials: local sources (the Dockerfile,
 * the context) are no material (their URIs resolve nowhere a verifier could fetch). Images come sorted by reference,
 * then the git context, as BuildKit's capture sorts its sources (provenance/capture.go Sort) before slsaMaterials.
 */
export function materialsOf(input: ProvenanceInput): Material[] {
  const images: { ref: string; material: Material }[] = [];
  const seen = new Set<string>();
  for (const v of neededVertices(input.graph)) {
    if (v.op.kind !== 'image') continue;
    const uri = dockerPurl(v.op.ref, v.op.platform);
    if (seen.has(uri)) continue;
    seen.add(uri);
    images.push({ ref: v.op.ref, material: { uri, digest: { sha256: digestHex(v.op.digest) } } });
  }
  const out = images.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)).map((i) => i.material);
  if (input.gitContext) out.push({ uri: gitFragmentFormat(input.gitContext.url, false), digest: commitDigest(input.gitContext.commit) });
  return out;
}

/**
 * A git URL in the fragment form BuildKit writes in provenance (frontend/dockerfile/dfgitutil FragmentFormat):
 * `REMOTE#REF:DIR`, the directory only `withSubdir` (the configSource; a material is the repository at a ref).
 */
function gitFragmentFormat(url: string, withSubdir: boolean): string {
  const g = parseGitRef(url);
  if (g === undefined) return url;
  const subdir = withSubdir ? g.subdir : '';
  return g.ref !== '' || subdir !== '' ? `${g.remote}#${g.ref}${subdir !== '' ? `:${subdir}` : ''}` : g.remote;
}

/** A commit as a digest set, named by its object format (provenance/predicate.go digestSetForCommit). */
function commitDigest(commit: string): Record<string, string> {
  return commit.length === 64 ? { sha256: commit } : { sha1: commit };
}

/** The remote caches that answered a step, as materials (`max` only: they depend on the cache's state). */
function cacheMaterials(input: ProvenanceInput): Material[] {
  const out: Material[] = [];
  for (const ref of input.cacheSources) {
    let uri: string;
    try { uri = dockerPurl(ref); } catch { uri = `local:cache/${ref}`; }
    out.push({ uri, digest: {} });
  }
  return out;
}

/** Frontend attributes BuildKit keeps out of the request: the host-specific ones (provenance/predicate.go FilterArgs). */
const HOST_SPECIFIC_ATTRS = new Set(['cgroup-parent', 'image-resolve-mode', 'platform', 'cache-imports']);

/**
 * The request's args as BuildKit's provenance holds them: the frontend attributes less the host-specific ones and
 * `attest:*` (FilterArgs), less `filename` (it is the configSource's `path`) and `vcs:*` (they go to the metadata:
 * RequestProvenance, NewPredicate), secret-looking build args redacted. Go writes the map's keys sorted.
 */
function requestArgsOf(input: ProvenanceInput): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(redactedArgs(input.buildArgs))) args[`build-arg:${k}`] = v;
  for (const [k, v] of Object.entries(input.labels)) args[`label:${k}`] = v;
  for (const [k, v] of Object.entries(input.frontendAttrs ?? {})) {
    if (k.startsWith('vcs:') || k.startsWith('label:') || k.startsWith('attest:') || HOST_SPECIFIC_ATTRS.has(k)) continue;
    args[k] = v;
  }
  if (input.target) args.target = input.target;
  return Object.fromEntries(Object.keys(args).sort().map((k) => [k, args[k] ?? '']));
}

/** True when `min` had to leave build args or labels out of the request (BuildKit's scrubMinRequest). */
function isScrubbed(args: Record<string, string>): boolean {
  return Object.keys(args).some(isScrubbedArg);
}

function isScrubbedArg(key: string): boolean {
  return key.startsWith('build-arg:') || key.startsWith('label:');
}

/**
 * The request as BuildKit's provenance holds it (provenance/types Parameters, each field omitempty): `min` leaves
 * out build args, labels, secrets and SSH (provenance.go scrubMinRequest), and `no-cache` (see the top), and an
 * empty `args` is no `args`. `all`: requestArgsOf(input), which the completeness flag reads too.
 */
function requestOf(input: ProvenanceInput, mode: 'min' | 'max', all: Record<string, string>): Record<string, unknown> {
  const args = mode === 'max' ? all : Object.fromEntries(Object.entries(all).filter(([k]) => !isScrubbedArg(k) && k !== 'no-cache'));
  const { secrets, ssh } = mode === 'max' ? mountedSecretsAndSsh(input.graph) : { secrets: [], ssh: [] };
  return {
    frontend: 'dockerfile.v0',
    ...(Object.keys(args).length > 0 ? { args } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(ssh.length > 0 ? { ssh } : {}),
    // BuildKit lists the local sources it read; a git context has none (and `locals` is omitempty there).
    ...(input.gitContext ? {} : { locals: localsRead(input.graph).map((name) => ({ name })) }),
  };
}

/**
 * The local sources the build read, by the name of their local mount, sorted as BuildKit's capture sorts them
 * (provenance/capture.go Sort): the context and the Dockerfile, and each named local context (--build-context
 * NAME=DIR) a step reads, under the mount name buildx gives it (localMountName).
 */
function localsRead(graph: BuildGraph): string[] {
  const names = new Set(['context', 'dockerfile']);
  const note = (ref: SourceRef | undefined): void => {
    if (ref?.kind === 'context' && ref.name !== undefined) names.add(localMountName(ref.name));
  };
  for (const v of neededVertices(graph)) {
    if (v.op.kind === 'copy') note(v.op.from);
    if (v.op.kind === 'exec') for (const m of v.op.mounts) if (m.type === 'bind' || m.type === 'cache') note(m.from);
  }
  return [...names].sort();
}

/**
 * The secrets and SSH agents the image's RUN steps mount (never their values), as BuildKit captures them from its
 * exec ops (solver/llbsolver/provenance.go, captureProvenance; provenance/capture.go AddSecret, AddSSH, Sort): one entry
 * per id, sorted by id, `optional` unless some step requires it. What was given with --secret but no step used is
 * not listed.
 */
function mountedSecretsAndSsh(graph: BuildGraph): { secrets: { id: string; optional?: true }[]; ssh: { id: string; optional?: true }[] } {
  const secrets = new Map<string, boolean>();
  const ssh = new Map<string, boolean>();
  for (const v of neededVertices(graph)) {
    if (v.op.kind !== 'exec') continue;
    for (const m of v.op.mounts) {
      if (m.type !== 'secret' && m.type !== 'ssh') continue;
      const seen = m.type === 'secret' ? secrets : ssh;
      seen.set(m.id, (seen.get(m.id) ?? true) && !m.required);
    }
  }
  const list = (seen: Map<string, boolean>): { id: string; optional?: true }[] =>
    [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, optional]) => (optional ? { id, optional } : { id }));
  return { secrets: list(secrets), ssh: list(ssh) };
}

/** tsbuild's step list: BuildKit's `buildConfig.llbDefinition`, with the cache's view of each step. */
function stepsOf(input: ProvenanceInput): unknown[] {
  const records = new Map(input.records.map((r) => [r.id, r]));
  const steps = neededVertices(input.graph).map((v) => {
    const rec = records.get(v.id);
    const key = input.keys[v.id];
    return {
      id: v.id,
      op: { ...v.op, instruction: v.text, stage: v.stage, ...(v.location ? { location: v.location } : {}) },
      inputs: v.inputs,
      ...(key ? { cacheKey: key.digest, cacheKeyParts: key.parts } : {}),
      ...(rec ? { cache: { result: rec.cached ? 'hit' : 'miss', ...(rec.cacheSource ? { source: rec.cacheSource } : {}), ...(rec.cacheRef ? { ref: rec.cacheRef } : {}), reasons: rec.reasons } } : {}),
    };
  });
  return redactDeep(steps, input.buildArgs);
}

/**
 * BuildKit's `max` source metadata (provenance.AddBuildConfig, provenance/types Source): the Dockerfile as a source
 * info (its name, language `Dockerfile`, its bytes, base64 as Go writes a []byte), and for each step with a place in
 * it the lines it spans (pb.Locations of source 0: BuildKit's Dockerfile ranges carry lines only). Steps are named
 * as the step list names them. Undefined without the Dockerfile's text.
 */
function sourceOf(input: ProvenanceInput): NonNullable<BuildkitMetadata['source']> | undefined {
  const text = input.dockerfile.text;
  if (text === undefined) return undefined;
  const located = neededVertices(input.graph).filter((v) => v.location !== undefined).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const locations = Object.fromEntries(located.map((v) => [v.id, { locations: [{ ranges: [{ start: { line: v.location?.line ?? 0 }, end: { line: v.location?.endLine ?? 0 } }] }] }]));
  return {
    ...(located.length > 0 ? { locations } : {}),
    infos: [{ filename: input.dockerfile.name, language: 'Dockerfile', data: Buffer.from(text).toString('base64') }],
  };
}

/**
 * BuildKit's `max` metadata `layers` (provenance.go's cacheExporter): for each step whose result has layers, its chain,
 * keyed `STEP:0` (the step and its only output) with the step named as the step list names it. Config-only steps
 * (LABEL, ENV …) are no step of their own, as in BuildKit's LLB. Undefined when none has layers.
 */
function layersOf(input: ProvenanceInput): Record<string, LayerDescriptor[][]> | undefined {
  const known = input.layers;
  if (known === undefined) return undefined;
  const entries = neededVertices(input.graph).filter((v) => v.op.kind !== 'meta').flatMap((v): [string, LayerDescriptor[][]][] => {
    const chain = known[v.id];
    return chain === undefined || chain.length === 0 ? [] : [[`${v.id}:0`, [chain]]];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** True when no step could reach the network: no RUN, or every RUN with --network=none (BuildKit's definition). */
function isHermetic(graph: BuildGraph): boolean {
  return neededVertices(graph).every((v) => v.op.kind !== 'exec' || v.op.network === 'none');
}

/** An ADD source fetched from the network (a URL or a git repository) rather than read from the context. */
function isRemoteSource(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source);
}

/**
 * SLSA's `reproducible` ("running the invocation on materials will produce bit-for-bit identical output"), claimed
 * only where tsbuild itself guarantees it: SOURCE_DATE_EPOCH is set (layer and config times are pinned; the
 * byte-identical-across-roots test holds it), no RUN step (a command's output is the command's business: apt-get, a
 * timestamp, a random file) and no ADD from the network without `--checksum`. Every other step is a pure function of
 * the materials. BuildKit always writes false unless told otherwise; this is never less honest than that.
 */
export function isReproducible(input: Pick<ProvenanceInput, 'graph' | 'sourceDateEpoch'>): boolean {
  if (input.sourceDateEpoch === undefined) return false;
  return neededVertices(input.graph).every((v) => v.op.kind !== 'exec'
    && !(v.op.kind === 'copy' && v.op.mode === 'add' && v.op.checksum === undefined && v.op.sources.some(isRemoteSource)));
}

/** A time as SLSA writes it, no later than SOURCE_DATE_EPOCH when that is set (BuildKit's rewrite-timestamp rule). */
function clampedTime(at: Date, epoch: number | undefined): string {
  return (epoch !== undefined && at.getTime() > epoch * 1000 ? new Date(epoch * 1000) : at).toISOString();
}

/** The provenance statement for one platform's image; in `min`, the same bytes for the same inputs (see the top). */
export function provenanceStatement(input: ProvenanceInput, opts: ProvenanceOptions): Statement<unknown> {
  const subject = [subjectOf(input.subject.name, input.subject.digest)];
  const predicate = provenancePredicate(input, opts);
  return opts.version === 'v1' ? statement(subject, SLSA_V1, predicate) : statement(subject, SLSA_V02, toSlsa02(predicate));
}

/**
 * The v1 predicate every statement (and the build record's provenance) is made from, shaped as BuildKit's Go
 * struct marshals it (provenance/types ProvenancePredicateSLSA1, in-toto-golang slsa1): fields in struct order, the
 * omitempty ones (`resolvedDependencies`, `buildkit_hermetic`, `buildkit_reproducible`) left out when empty or false,
 * `buildkit_metadata` always there. `invocationId` is SLSA v1's spelling (slsa1.BuildMetadata), not v0.2's `ID`.
 */
export function provenancePredicate(input: ProvenanceInput, opts: ProvenanceOptions): PredicateV1 {
  const max = opts.mode === 'max';
  const materials = [...materialsOf(input), ...(max ? cacheMaterials(input) : [])];
  const requestArgs = requestArgsOf(input);
  const request = requestOf(input, opts.mode, requestArgs);
  // A git context names the repository at its commit, as BuildKit's RequestProvenance finds its material.
  const configSource = input.gitContext
    ? { uri: gitFragmentFormat(input.gitContext.url, true), digest: commitDigest(input.gitContext.commit) }
    : { digest: { sha256: digestHex(input.dockerfile.digest) } };
  // A local context is a source no verifier can fetch: BuildKit then says its dependencies are incomplete, and the
  // build not hermetic whatever the steps did (provenance/predicate.go NewPredicate).
  const isComplete = input.gitContext !== undefined;
  const hermetic = isComplete && isHermetic(input.graph);
  const reproducible = opts.reproducible ?? isReproducible(input);
  const startedOn = clampedTime(input.startedOn, input.sourceDateEpoch);
  const finishedOn = clampedTime(input.finishedOn, input.sourceDateEpoch);
  // BuildKit's own metadata: the checkout, when known; in `max` the Dockerfile, where each step is in it, and each
  // step's layers.
  const source = max ? sourceOf(input) : undefined;
  const layers = max ? layersOf(input) : undefined;
  const buildkitMetadata = {
    ...(input.vcs && Object.keys(input.vcs).length > 0 ? { vcs: input.vcs } : {}), ...(source ? { source } : {}), ...(layers ? { layers } : {}),
  };
  return {
    buildDefinition: {
      buildType: BUILD_TYPE_V1,
      ...(materials.length > 0 ? { resolvedDependencies: materials } : {}),
      externalParameters: { configSource: { ...configSource, path: input.dockerfile.name }, request },
      internalParameters: { ...(max ? { buildConfig: { llbDefinition: stepsOf(input) } } : {}), builderPlatform: formatPlatform(input.builderPlatform) },
    },
    runDetails: {
      builder: { id: opts.builderId ?? '' },
      metadata: {
        ...(max ? { invocationId: input.buildId, startedOn, finishedOn } : {}),
        buildkit_metadata: buildkitMetadata,
        ...(hermetic ? { buildkit_hermetic: true } : {}),
        // The request is whole unless `min` left build args or labels out (NewPredicate, scrubMinRequest).
        buildkit_completeness: { request: max || !isScrubbed(requestArgs), resolvedDependencies: isComplete },
        ...(reproducible ? { buildkit_reproducible: true } : {}),
        ...(max ? { tsbuild_metadata: { buildId: input.buildId, steps: input.records.length, cached: input.records.filter((r) => r.cached).length } } : {}),
      },
    },
  };
}
