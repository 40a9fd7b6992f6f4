import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { compile, parseDockerignore, withSource, type BuildGraph, type CheckWarning, type ExecOp } from '../frontend/index.js';
import { failedExecOf, solve, type RunningSteps, type SqliteCacheIndex, type CacheKey, type ContextSource, type VertexRecord, type FsState, type HistoryRetention, type SecretSource, type RemoteCache, type RunLimits } from '../solver/index.js';
import { readContextFile } from './context-file.js';
import { cacheMountsDir, gzipLayers, resetCacheMounts, statMemoFor, type FileContentStore } from '../worker/index.js';
import type { CacheFromSpec, CacheToSpec } from './cache/cache-spec.js';
import { inlineCacheIfAsked, openRemoteCache, outputFilesystem, writeCaches } from './cache/build-cache.js';
import { IncrementalCacheExport } from './cache/incremental-export.js';
import { uncachedCacheMounts } from './cache/uncached-cache-mounts.js';
import { StepRecorder } from './cache/step-recorder.js';
import { stepKeyOf, type KeyedBuildRecord } from './explain/key-manifest.js';
import { contextBriefOf, contextReportFor, currentSnapshot } from './context-report/load-context-report.js';
import {
  formatPlatform, hostPlatform, type Descriptor, type Digest, type Platform, type RegistryMetrics,
} from '../registry/index.js';
import { attestImages, recordProvenance, type AttestContext, type AttestTarget } from './attest/attest-build.js';
import { vcsMetadata } from './attest/provenance.js';
import { buildxWarnings, type MetadataExtras, type MetadataRequest } from './metadata-file.js';
import type { AttestRequest } from './attest/attest-options.js';
import { reportAttestation } from './attest/attach.js';
import type { ReportAttestation } from './report/index.js';
import { assembleImage, type AssembledImage } from './image/assemble.js';
import type { Root } from './commands/root.js';
import { redactRecord, textRedactor } from './report/index.js';
import { BuildLogRecorder } from './history/index.js';
import { RegistryImageSource } from './image-source.js';
import { prefetchBaseImages } from './base-prefetch.js';
import { addBaseEnv, checkForBuild, reportChecksBeforeError, type BaseEnv } from './build-checks.js';
import type { OutputSpec } from './options/output.js';
import { checkOutputsForPlatforms, writeOutputs, type PlatformResult } from './outputs/write-outputs.js';
import { checkEmulation } from './emulation.js';
import { assembleIndex, mergePlatformGraphs, multiPlatformRequested, platformView, qualifyNoCacheFilter, type AssembledIndex, type PlatformPart } from './multi-platform.js';
import { localContextSources, namedContextKinds, namedImage, type NamedContext, type NetworkMode } from './options/build-flags.js';
import type { ProgressWriter } from './progress/index.js';
import { gcAfterBuild } from './gc.js';
import { debugFailedRun, debugResult, type DebugRequest } from './debug/debug-session.js';
import { historyRetentionFromEnv } from './history-retention.js';
import { raisedWhileBuilding } from './format-error.js';
import { UserError, crashPoint, isTsbuildError } from '../common/index.js';
import type { TestHooks } from '../common/index.js';

/** Everything `tsbuild build` was asked to do, already parsed. */
export interface BuildRequest {
  contextDir: string;
  /** The Dockerfile path (`-f`); `<context>/Dockerfile` when absent. */
  dockerfile?: string;
  /** The Dockerfile's text when it came from stdin (`-f -` or the context `-`); wins over `dockerfile`. */
  dockerfileText?: string;
  /**
   * The name errors, warnings and step locations give the Dockerfile, when not its path (or a remote context's
   * locator): `Dockerfile` for one read from stdin, as BuildKit names it (buildx writes it to a temp dir as
   * `Dockerfile` and sets `filename` so), never CONTEXT/Dockerfile, a file that was not built and may not exist.
   */
  dockerfileName?: string;
  tags: string[];
  target?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  outputs: OutputSpec[];
  /** The one target platform (`--platform os/arch`); the host's when neither this nor `platforms` is set. */
  platform?: Platform;
  /** Several target platforms (`--platform a,b`): one image each, under one image index. Wins over `platform`. */
  platforms?: Platform[];
  noCache: boolean;
  noCacheFilter: string[];
  secrets: Record<string, SecretSource>;
  progress: ProgressWriter;
  signal: AbortSignal;
  /** The build's epoch (SOURCE_DATE_EPOCH resolved: source-date-epoch.ts): the image's dates, rewrite-timestamp's clamp. */
  sourceDateEpoch?: number;
  /**
   * SOURCE_DATE_EPOCH as the Dockerfile reads it once resolved (BuildKit replaces `context` or a stage's name by the
   * number), over the build arg or the global ARG's default; `buildArgs` keep what was asked, for the records.
   */
  epochArg?: string;
  /** Entitlements granted with `--allow` (buildx's names): `security.insecure`, `network.host`. */
  allow: string[];
  /** `--cache-from`: remote caches asked after a local miss. */
  cacheFrom?: CacheFromSpec[];
  /** `--cache-to`: where this build's cache records are exported. */
  cacheTo?: CacheToSpec[];
  /** `--provenance`, `--sbom`, `--attest`: attestations attached to each platform's image under an index. */
  attest?: AttestRequest;
  /** `--network`: the network of every RUN that does not set `--network` itself. */
  network?: NetworkMode;
  /** `--add-host`: /etc/hosts lines (`IP<TAB>NAME`) for every RUN. */
  extraHosts?: string[];
  /** `--ulimit` and `--shm-size`: resource limits and /dev/shm size (bytes) of every RUN. */
  ulimits?: ExecOp['ulimits'];
  shmSize?: number;
  /** `--cgroup-parent`: the cgroup each RUN's own is made under; in each RUN's key, as in BuildKit's ExecOp meta. */
  cgroupParent?: string;
  /** `tsbuild debug build`: a session where a RUN failed, or in the image made (debug/debug-session.ts). */
  debug?: DebugRequest;
  /** `--resource`: cgroup limits of every RUN; not part of any step's key, as BuildKit's op metadata. */
  limits?: RunLimits;
  /** `--ssh`: SSH agent sockets by id, forwarded to RUN --mount=type=ssh; never keyed or recorded. */
  ssh?: Record<string, string>;
  /** Steps other builds of this process on the same root are running (bake's targets at once; SolveOptions.runningSteps). */
  runningSteps?: RunningSteps;
  /** `--build-context NAME=…`: images, OCI layouts and local directories replacing stages, images and sources by name. */
  namedContexts?: Record<string, NamedContext>;
  /** `--metadata-file` was asked for: what it holds beyond the image (the record's provenance, the warnings). */
  metadata?: MetadataRequest;
  /**
   * A remote context (builder/remote-context) fetched into a temp dir: `locator` (the Dockerfile's stable name, its
   * URL redacted) stands for the temp paths in step locators and the record, so the next build of the same URL finds
   * this one's steps and trends group them;
   * `url` and `commit` go into the build record.
   */
  remoteContext?: {
    locator: string; url: string; commit?: string;
    /** A git context as given (`URL#REF:DIR`, `URL?ref=…`), credentials redacted: the provenance's configSource. */
    gitUrl?: string;
  };
  /**
   * The frontend attributes buildx would send for this build's settings and git checkout (options/frontend-attrs.ts,
   * git-info/): kept with the build record for `history inspect`; the `vcs:*` ones go into the provenance too.
   */
  frontendAttrs?: Record<string, string>;
  /** The id to record the build under (the CLI picks it, so it can report on a failed build); random when absent. */
  buildId?: string;
  /**
   * Test hooks (crash points) for the whole build: solve, worker and build record. The CLI reads them from the
   * environment (`TSBUILD_CRASH_AT`) at its edge and passes them; library callers pass their own or none.
   */
  hooks?: TestHooks;
}

/** The build-wide RUN settings (`--network`, `--add-host`, `--ulimit`, `--shm-size`, `--cgroup-parent`) applied to the graph's exec ops. */
function applyBuildSettings(graph: BuildGraph, req: BuildRequest): void {
  for (const v of graph.vertices) {
    if (v.op.kind !== 'exec') continue;
    if (req.network && req.network !== 'default' && v.op.network === 'default') v.op.network = req.network;
    if (req.extraHosts?.length) v.op.extraHosts = [...req.extraHosts];
    if (req.ulimits?.length) v.op.ulimits = req.ulimits.map((u) => ({ ...u }));
    if (req.shmSize !== undefined) v.op.shmSize = req.shmSize;
    if (req.cgroupParent !== undefined) v.op.cgroupParent = req.cgroupParent;
  }
}

/**
 * RUN --security=insecure runs privileged and RUN --network=host shares the host's network: as in BuildKit, a
 * Dockerfile can ask for either but only the person running the build can grant it.
 */
function checkEntitlements(graph: BuildGraph, allow: string[]): void {
  for (const v of graph.vertices) {
    if (v.op.kind !== 'exec') continue;
    const need = v.op.security === 'insecure' ? 'security.insecure' : v.op.network === 'host' ? 'network.host' : undefined;
    if (need && !allow.includes(need)) {
      const at = v.location ? `${v.location.file}:${v.location.line}: ` : '';
      throw new UserError('INVALID_ARGUMENT', `${at}${need} is not allowed for ${JSON.stringify(v.text)}`, `grant it with --allow ${need} if you trust this Dockerfile`);
    }
  }
}

/** What a finished build produced. */
export interface BuildOutcome {
  buildId: string;
  /** The image (of the first platform, for a multi-platform build: see `index`). */
  image: AssembledImage;
  /** The image index of a multi-platform build, over one image per platform. */
  index?: AssembledIndex;
  /** The manifest digest, or the index digest of a multi-platform build. */
  digest: Digest;
  /** What `--iidfile` and `-q` print: the config digest, or the index digest of a multi-platform build (as buildx). */
  imageId: Digest;
  records: VertexRecord[];
  /** The solved graph; for several platforms, their union with ids and stage names qualified by platform. */
  graph: BuildGraph;
  /** Registry traffic of the whole build: pulls and pushes. */
  metrics: RegistryMetrics;
  pushed: string[];
  /** buildx's `image.name` for `--metadata-file` (`repo@digest` for push-by-digest or name-canonical). */
  imageNames: string[];
  /** The attestation manifests in the index, one per platform image, when provenance or an SBOM was asked for. */
  attestations?: ReportAttestation[];
  /** The image or index as the outputs wrote it (see Pushed.written); `digest` is its digest when present. */
  written?: { descriptor: Descriptor; configDigest?: Digest };
  /** The record's provenance and the warnings, when `metadata` was in the request (see metadata-file.ts). */
  metadata?: MetadataExtras;
  /** The build record as the history stored it (redacted), once the build has recorded it. */
  storedRecord?: KeyedBuildRecord;
}

/** The Dockerfile (`-f`, else `<context>/Dockerfile`) with a located error and a hint when it cannot be read. */
export async function readDockerfile(req: Pick<BuildRequest, 'contextDir' | 'dockerfile' | 'dockerfileText'>): Promise<{ path: string; text: string }> {
  // From stdin (`-f -`, or `-` as the context): errors still say `Dockerfile:N`, as docker's do.
  if (req.dockerfileText !== undefined) return { path: resolve(req.contextDir, 'Dockerfile'), text: req.dockerfileText };
  const path = resolve(req.dockerfile ?? join(req.contextDir, 'Dockerfile'));
  try {
    return { path, text: await readContextFile(path, req.contextDir) };
  } catch (err) {
    if (isTsbuildError(err)) throw err;
    // A Dockerfile named `Dockerfile` may be spelled `dockerfile` (moby/moby#10858): dockerui's ReadEntrypoint
    // (frontend/dockerui/config.go) reads the lowercase name beside it when the default one is missing.
    const lower = join(dirname(path), 'dockerfile');
    if (basename(path) === 'Dockerfile' && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      const text = await readContextFile(lower, req.contextDir).catch(() => undefined);
      if (text !== undefined) return { path: lower, text };
    }
    throw new UserError('DOCKERFILE_NOT_FOUND', `failed to read Dockerfile ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      req.dockerfile ? 'check the -f/--file path' : `add a Dockerfile to ${req.contextDir} or pass -f PATH`, { cause: err });
  }
}

/**
 * `.dockerignore` beside the context root, or `<Dockerfile>.dockerignore` beside the Dockerfile (BuildKit's rule).
 * `dockerfilePath` is undefined for a Dockerfile that is no file here (from stdin): BuildKit reads
 * `<filename>.dockerignore` from the Dockerfile's own source, which buildx makes a temp dir holding only the
 * Dockerfile, so only the context's `.dockerignore` applies.
 */
export async function readExcludes(contextDir: string, dockerfilePath: string | undefined): Promise<string[]> {
  const candidates = [...(dockerfilePath !== undefined ? [`${dockerfilePath}.dockerignore`] : []), join(contextDir, '.dockerignore')];
  for (const candidate of candidates) {
    const text = await readContextFile(candidate, contextDir).catch((err: unknown) => {
      if (isTsbuildError(err)) throw err;
      return undefined;
    });
    if (text !== undefined) return parseDockerignore(text, candidate);
  }
  return [];
}

/**
 * When each vertex's result was first built: its cache record's time (now for a step that just ran; the exporter's for
 * a remote hit stored here), else, for a remote hit never fetched, the time the remote cache says. Read only.
 */
async function builtAt(cache: SqliteCacheIndex, keys: Record<string, CacheKey>, remote: RemoteCache | undefined): Promise<Record<string, number>> {
  const created = cache.createdAt(Object.values(keys).map((k) => k.digest));
  const out: Record<string, number> = {};
  for (const [id, key] of Object.entries(keys)) {
    const at = created.get(key.digest) ?? (await remote?.lookup(key.digest))?.created;
    if (at !== undefined) out[id] = at;
  }
  return out;
}

/**
 * Stores a document unless the store holds its digest already: a cached rebuild assembles byte-identical config and
 * manifest, and each put was a temp file, two fsyncs and a rename for nothing.
 */
async function putDocument(store: FileContentStore, bytes: Uint8Array, desc: Descriptor): Promise<void> {
  if (!(await store.has(desc.digest))) await store.put(bytes, desc.mediaType);
}

/** Runs one build: compile, solve, assemble the image, write every output, record it in the build history. */
export async function runBuild(req: BuildRequest, root: Root): Promise<BuildOutcome> {
  const contextDir = resolve(req.contextDir);
  const info = await stat(contextDir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError('CONTEXT_NOT_FOUND', `build context ${contextDir} is not a directory`, 'pass the directory holding your sources, e.g. `tsbuild build .`');
  }
  const dockerfile = await readDockerfile({ ...req, contextDir });
  // A Dockerfile given as text (stdin, or a URL serving one) has no `<Dockerfile>.dockerignore`: CONTEXT/Dockerfile's is not its.
  const excludes = await readExcludes(contextDir, req.dockerfileText !== undefined ? undefined : dockerfile.path);
  const platforms = req.platforms?.length ? req.platforms : [req.platform ?? hostPlatform()];
  checkOutputsForPlatforms(req.outputs, platforms);
  const asIndex = multiPlatformRequested(req.buildArgs, platforms.length);   // a bad BUILDKIT_MULTI_PLATFORM stops it here
  const retention = historyRetentionFromEnv();   // read before any work: a bad value stops the build, not its record
  // The FROM tags' manifest requests go out now and run beside the lock, the root's opening and the compile.
  prefetchBaseImages(await root.registry(), dockerfile.text, {
    ...(req.namedContexts ? { namedContexts: req.namedContexts } : {}), ...(req.target ? { target: req.target } : {}),
  }, req.signal);

  // Shared with other builds, exclusive of prune: see root-lock.ts.
  // Held until the root is closed, after the build's reports too.
  await root.lock('shared', () => req.progress.note(`waiting for a prune of ${root.dir} to finish`));
  try {
    return await buildLocked(req, root, contextDir, dockerfile, excludes, platforms, asIndex, retention);
  } catch (err) {
    // A failed step shows its line with a caret; whatever the code, it failed the build (exit status 1).
    throw raisedWhileBuilding(withSource(err, { file: shownName(req, dockerfile), text: dockerfile.text }));
  }
}

/** The name errors, warnings and steps give the Dockerfile (see BuildRequest.dockerfileName). */
function shownName(req: BuildRequest, dockerfile: { path: string }): string {
  return req.dockerfileName ?? req.remoteContext?.locator ?? dockerfile.path;
}

/** The build args the Dockerfile is read with: the request's, SOURCE_DATE_EPOCH as resolved (BuildRequest.epochArg). */
function dockerfileArgs(req: BuildRequest): Record<string, string> {
  return req.epochArg === undefined ? req.buildArgs : { ...req.buildArgs, SOURCE_DATE_EPOCH: req.epochArg };
}

/** Compiles the Dockerfile for each platform; several platforms give one merged graph (see multi-platform.ts). */
async function compileAll(
  req: BuildRequest, dockerfile: { path: string; text: string }, platforms: Platform[], images: RegistryImageSource,
): Promise<{ graph: BuildGraph; parts: PlatformPart[]; noCacheFilter: string[]; baseEnv: BaseEnv }> {
  const graphs: { platform: Platform; graph: BuildGraph }[] = [];
  const baseEnv: BaseEnv = {};   // for the build checks (build-checks.ts), by the FROM text the compiler resolved
  for (const platform of platforms) {
    const graph = await compile(dockerfile.text, {
      file: dockerfile.path, buildArgs: dockerfileArgs(req), platform, buildPlatform: hostPlatform(),
      ...(req.target ? { target: req.target } : {}), namedContexts: namedContextKinds(req.namedContexts ?? {}),
      resolveImage: async (ref, p) => {
        const image = await images.resolve(namedImage(ref, req.namedContexts ?? {}), p, req.signal);
        addBaseEnv(baseEnv, ref, image.config);
        return image;
      },
    });
    applyBuildSettings(graph, req);
    graphs.push({ platform, graph });
  }
  const only = graphs.length === 1 ? graphs[0] : undefined;
  if (only) return { graph: only.graph, parts: [{ platform: only.platform, name: formatPlatform(only.platform), target: only.graph.target, stageOffset: 0, graph: only.graph }], noCacheFilter: req.noCacheFilter, baseEnv };
  const merged = mergePlatformGraphs(graphs);
  return { ...merged, noCacheFilter: qualifyNoCacheFilter(req.noCacheFilter, merged), baseEnv };
}

/** The build proper, once the root is locked. */
async function buildLocked(
  req: BuildRequest, root: Root, contextDir: string, dockerfile: { path: string; text: string }, excludes: string[], platforms: Platform[],
  asIndex: boolean, retention: HistoryRetention,
): Promise<BuildOutcome> {
  const worker = await root.worker();
  const cache = await root.cache();
  const history = await root.history();
  const client = await root.registry();
  const images = new RegistryImageSource(client, worker.store);
  const buildId = req.buildId ?? randomUUID().replaceAll('-', '').slice(0, 20);
  const started = Date.now();
  const record: KeyedBuildRecord = {
    // A remote context's Dockerfile is in a temp dir gone after the build: the record names it by its stable name and
    // keeps its text (so do Dockerfiles read from stdin), which the report quotes.
    id: buildId, started, finished: started, status: 'failed', dockerfile: req.remoteContext?.locator ?? dockerfile.path,
    ...(req.remoteContext || req.dockerfileText !== undefined ? { dockerfileText: dockerfile.text } : {}),
    ...(req.target ? { target: req.target } : {}), args: req.buildArgs, tags: req.tags, vertices: [],
    ...(req.remoteContext ? { contextSource: { url: req.remoteContext.url, ...(req.remoteContext.commit ? { commit: req.remoteContext.commit } : {}) } } : { contextDir }),
    ...(req.frontendAttrs && Object.keys(req.frontendAttrs).length > 0 ? { frontendAttrs: { ...req.frontendAttrs } } : {}),
  };
  let leaseId: string | undefined;
  // One object for the whole build: the worker keeps the build's listing of the context by it (statMemoFor), so the
  // COPY keys, the context report and the provenance's context digest walk the context once.
  // An ADD of a private http(s) git repository authenticates with the GIT_AUTH_TOKEN / GIT_AUTH_HEADER secrets, as
  // BuildKit's git source reads them from the session; only those ids reach the worker's git.
  const gitSecrets = Object.fromEntries(Object.entries(req.secrets).filter(([id]) => /^GIT_AUTH_(TOKEN|HEADER)(\.|$)/.test(id)));
  const context: ContextSource = {
    kind: 'context', dir: contextDir, excludes, ...(req.ssh?.default !== undefined ? { sshAgent: req.ssh.default } : {}),
    ...(Object.keys(gitSecrets).length > 0 ? { gitSecrets } : {}),
  };
  let recorder: StepRecorder | undefined;
  // The steps' output and statuses, kept with the record for `history logs`, redacted as the record is.
  const logs = new BuildLogRecorder(textRedactor(record));
  let exporter: IncrementalCacheExport | undefined;
  let outcome: BuildOutcome | undefined;
  try {
    const remote = await openRemoteCache(req.cacheFrom ?? [], { client, store: worker.store, images, platforms: platforms.length > 0 ? platforms : [hostPlatform()], progress: req.progress, signal: req.signal });
    // Steps, warnings and errors name a remote context's Dockerfile by its stable name, not the temp path it was read
    // at, and one from stdin as BuildKit does.
    const shown = { path: shownName(req, dockerfile), text: dockerfile.text };
    const checkArgs = { buildArgs: dockerfileArgs(req), buildPlatform: hostPlatform(), ...(platforms[0] ? { platform: platforms[0] } : {}), ...(req.target ? { target: req.target } : {}) };
    const { graph, parts, noCacheFilter, baseEnv } = await compileAll(req, shown, platforms, images).catch((err: unknown) => {
      // BuildKit reports the findings it made before its conversion stopped, then the error.
      reportChecksBeforeError(shown, err, checkArgs, req.progress, Object.keys(req.namedContexts ?? {}));
      throw err;
    });
    const checkWarnings = checkForBuild(shown, baseEnv, checkArgs, req.progress, Object.keys(req.namedContexts ?? {}), graph, excludes);
    checkEntitlements(graph, req.allow);
    checkEmulation(graph, hostPlatform());
    req.progress.plan(graph, dockerfile.text, parts);
    // Every finished step is recorded (the report's key manifest) and its layers start going to --cache-to at once.
    const locatorPrefix = req.remoteContext?.locator ?? `${contextDir}:${dockerfile.path}`;
    const cacheTo = (req.cacheTo ?? []).filter((c) => c.type !== 'inline');
    const incremental = cacheTo.length === 0 ? undefined
      : new IncrementalCacheExport(cacheTo, graph, { client, blobs: remote.blobs, note: (t) => req.progress.note(t), signal: req.signal });
    exporter = incremental;
    context.named = await localContextSources(req.namedContexts ?? {});
    await resetCacheMounts(cacheMountsDir(root.dir), uncachedCacheMounts(parts.map((p) => p.graph), req.noCache, req.noCacheFilter));
    recorder = new StepRecorder(cache, graph, locatorPrefix, (step) => incremental?.stepFinished(step));
    // One solve for every platform: a step with the same key in several platforms' graphs runs once.
    const solved = await solve(graph, {
      worker, images, cache: recorder, context,
      secrets: req.secrets, ...(req.ssh ? { ssh: req.ssh } : {}), ...(req.limits ? { limits: req.limits } : {}), noCache: req.noCache, noCacheFilter, signal: req.signal,
      onEvent: (e) => { recorder?.observe(e); logs.observe(e); req.progress.event(e); }, onKeyed: recorder.keyed, buildId, locatorPrefix, ...(req.hooks ? { hooks: req.hooks } : {}),
      ...(remote.cache ? { remote: recorder.watchRemote(remote.cache) } : {}), ...(req.runningSteps ? { runningSteps: req.runningSteps } : {}),
      targets: parts.map((part) => part.target), needsStageResults: req.attest?.sbom?.scanStage === true,
    });
    leaseId = solved.leaseId;
    record.vertices = solved.records;
    for (const line of skippedStages(graph, solved.skipped)) req.progress.note(line);
    const times = await builtAt(cache, solved.keys, remote.cache);
    const views = parts.map((part) => platformView(graph, part));
    const built: PlatformResult[] = [];
    let debugTarget: { fs: FsState; config: AssembledImage['config'] } | undefined;
    // Base image layers stay as they came (a pushed image keeps its base's blobs, whatever their compression).
    const baseLayers = new Set([...images.resolvedRefs.values()].flatMap((r) => r.manifest.layers.map((l) => l.digest)));
    // The image leaves the build (an output, inline cache, attestations about it): its own layers are gzipped now.
    // Otherwise it stays in the store with plain tar layers, and `tsbuild push` gzips them (the same blobs) later.
    // (local and tar outputs write files, not layers.)
    const leaves = req.outputs.some((o) => o.type !== 'cacheonly' && o.type !== 'local' && o.type !== 'tar')
      || (req.cacheTo ?? []).some((c) => c.type === 'inline') || Boolean(req.attest?.provenance) || Boolean(req.attest?.sbom);
    for (const [k, part] of parts.entries()) {
      const view = views[k] ?? graph;
      const assembled = assembleImage(view, leaves ? await imageResults(view, solved.results, baseLayers, worker.store, req.signal) : solved.results, {
        // A platform asked for names the image even when the target stage runs on another ($BUILDPLATFORM); without
        // --platform, a target stage fixed to a foreign platform (FROM --platform=linux/arm64) keeps its own, as its
        // base image's config does in BuildKit.
        labels: req.labels, builtAt: times, ...(req.platforms?.length || req.platform ? { platform: part.platform } : {}),
        ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
      });
      const image = await inlineCacheIfAsked(assembled, view, { ...solved, builtAt: times }, req.cacheTo ?? [], remote.blobs, req.signal);
      await putDocument(worker.store, image.configBytes, image.configDescriptor);
      await putDocument(worker.store, image.manifestBytes, image.manifestDescriptor);
      const target = solved.results[view.stages[view.target]?.result ?? ''];
      if (!target) throw new Error(`solve returned no result for the ${part.name} target stage`);
      const fs = await outputFilesystem(target, req.outputs, { worker, remote, progress: req.progress, signal: req.signal });
      built.push({ platform: part.platform, image, fs });
      debugTarget ??= { fs: target, config: image.config };
    }
    const attestTargets = built.map((b, k) => ({ platform: b.platform, image: b.image, view: views[k] ?? graph }));
    const attestContext: AttestContext = {
      request: req.attest ?? {}, buildId, started: new Date(started), contextDir, dockerfile, buildArgs: req.buildArgs, labels: req.labels,
      ...(req.target ? { target: req.target } : {}), tags: req.tags, vcs: vcsMetadata(req.frontendAttrs ?? {}), frontendAttrs: req.frontendAttrs ?? {},
      ...(req.remoteContext?.gitUrl && req.remoteContext.commit ? { gitContext: { url: req.remoteContext.gitUrl, commit: req.remoteContext.commit } } : {}),
      ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}), builderPlatform: hostPlatform(),
      solved, worker, progress: req.progress, signal: req.signal, creator: 'tsbuild',
      ensureLocal: (layers) => remote.blobs.fetchLayers(layers, req.signal, { log: () => undefined, status: (text) => req.progress.note(text) }),
    };
    const { manifests: attestations, byPlatform: attestationFiles } = await attestImages(attestTargets, attestContext);
    const metadata = req.metadata ? metadataExtras(req.metadata, attestTargets, attestContext, checkWarnings) : undefined;
    // Attestations hang off an index, so a single-platform build with them becomes an index too (as buildx's does).
    const index = asIndex || attestations.length > 0 ? assembleIndex(built.map((b) => b.image), undefined, attestations) : undefined;
    if (index) await putDocument(worker.store, index.indexBytes, index.indexDescriptor);
    const first = built[0];
    if (!first) throw new Error('a build produced no image');
    const results = built.map((b, k) => ({ ...b, attestations: attestationFiles[k] ?? [] }));
    const out = await writeOutputs({ platforms: results, ...(index ? { index } : {}) }, req.outputs, {
      client, store: worker.store, blobs: remote.blobs, images, progress: req.progress, signal: req.signal, worker,
      ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
    });
    await exporter?.settle();
    await writeCaches(req.cacheTo ?? [], views, { ...solved, builtAt: times }, built.map((b) => b.image), out.pushed, { client, remote, progress: req.progress, signal: req.signal });
    // The image as written when -o attributes changed it (compression, annotations …): what was pushed and is reported.
    const digest = out.written?.descriptor.digest ?? (index ? index.indexDescriptor.digest : first.image.manifestDescriptor.digest);
    // buildx starts the --invoke command after a build that succeeded too, or any session with --on=always.
    if (req.debug && (req.debug.on === 'always' || req.debug.isInvokeGiven) && debugTarget) {
      await debugResult(worker, debugTarget.fs, debugTarget.config, req.debug, req.progress, req.signal);
    }
    record.status = 'succeeded';
    record.resultDigest = digest;
    outcome = {
      buildId, image: first.image, ...(index ? { index } : {}), digest,
      imageId: out.written ? (out.written.configDigest ?? digest) : index ? digest : first.image.configDescriptor.digest,
      records: solved.records, graph, metrics: client.metrics, pushed: out.pushed, imageNames: out.imageNames, ...(out.written ? { written: out.written } : {}),
      ...(attestations.length > 0 ? { attestations: attestations.map(reportAttestation) } : {}), ...(metadata ? { metadata } : {}),
    };
    return outcome;
  } catch (err) {
    // `tsbuild debug build`: where a RUN failed, a session in its container before the build ends with its error.
    const failed = req.debug && !req.signal.aborted ? failedExecOf(err) : undefined;
    if (req.debug && failed) {
      await debugFailedRun(worker, failed, req.debug, req.progress, req.signal)
        .catch((e: unknown) => req.progress.note(`debug: no session: ${e instanceof Error ? e.message : String(e)}`));
    }
    record.status = req.signal.aborted ? 'cancelled' : 'failed';
    record.error = { message: err instanceof Error ? err.message : String(err), ...(isTsbuildError(err) ? { code: err.code } : {}) };
    if (exporter && recorder && !req.signal.aborted) await exporter.exportFailed(recorder.finished);
    throw err;
  } finally {
    record.finished = Date.now();
    if (recorder) record.keyManifest = recorder.keyedSteps().map((s) => stepKeyOf(s.vertex.id, s.locator, s.key, s.files));
    if (recorder && record.status !== 'succeeded') record.vertices = recorder.records();   // a failed build's report has its steps too
    const current = currentSnapshot(record);
    record.context = await contextReportFor({ contextDir, dockerfilePath: dockerfile.path, dockerfileText: dockerfile.text, excludes, memo: statMemoFor(context), index: history, current })
      .catch((err: unknown) => {
        // A failed build says why itself (often the same Dockerfile error the report met): no second line for it.
        if (record.status === 'succeeded') req.progress.note(`context report skipped: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
    crashPoint(req.hooks, 'before-build-record'); // test hook, see common/crash-point.ts
    const stored = redactRecord(record);   // the history may be shown, reported or attached: no secret-named arg values
    const output = await logs.finish().catch((err: unknown) => {
      req.progress.note(`build output not kept with its record: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    try {
      history.recordBuild(stored, contextBriefOf(current), retention, output);   // what the next builds' context reports read of this one
    } catch (err) {
      // The build's own outcome stands: a record that could not be kept (a full disk) never replaces its error.
      req.progress.note(`build record not kept: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (outcome) outcome.storedRecord = stored;   // the build's report reads it from here, not back from the history
    await gcAfterBuild(root, req.progress, req.signal);   // under the build's lease, so its results stay: gc.ts
    if (leaseId) await cache.release(leaseId);
    cache.flush();
  }
}

/**
 * The solve's results with the target stage's layers as an image holds them: the layers the build made are kept as
 * plain tars while it runs and gzipped here, once (worker gzipLayer, the same bytes as before). Only the image's
 * own layers: a build stage's never leave the build and are never compressed.
 */
async function imageResults(view: BuildGraph, results: Record<string, FsState>, baseLayers: ReadonlySet<string>, store: FileContentStore, signal: AbortSignal): Promise<Record<string, FsState>> {
  const id = view.stages[view.target]?.result;
  const target = id === undefined ? undefined : results[id];
  if (id === undefined || target === undefined) return results;
  const own = target.layers.filter((l) => !baseLayers.has(l.descriptor.digest));
  const gzipped = new Map((await gzipLayers(store, own, signal)).map((l, i) => [own[i]?.descriptor.digest ?? '', l]));
  return { ...results, [id]: { ...target, layers: target.layers.map((l) => gzipped.get(l.descriptor.digest) ?? l) } };
}

/**
 * One line per stage whose missed steps were never run (solve()'s deferred misses): the build says why a stage it
 * keyed did not run, as it says why a step missed.
 */
function skippedStages(graph: BuildGraph, skipped: string[]): string[] {
  const byStage = new Map<number, number>();
  const stageOf = new Map(graph.vertices.map((v) => [v.id, v.stage]));
  for (const id of skipped) {
    const stage = stageOf.get(id);
    if (stage !== undefined) byStage.set(stage, (byStage.get(stage) ?? 0) + 1);
  }
  return [...byStage].map(([index, n]) => {
    const stage = graph.stages.find((s) => s.index === index);
    return `stage ${stage?.name ?? index} not run (${n} ${n === 1 ? 'step' : 'steps'} keyed): the cache knew what the steps reading it take from it`;
  });
}

/** What `--metadata-file` holds beyond the image: the record's provenance (unless disabled) and the check warnings. */
function metadataExtras(asked: MetadataRequest, targets: AttestTarget[], ctx: AttestContext, warnings: CheckWarning[]): MetadataExtras {
  const predicates = asked.provenance === 'disabled' ? [] : recordProvenance(targets, ctx);
  return {
    provenance: predicates.map((predicate, k) => ({ platform: formatPlatform(targets[k]?.platform ?? hostPlatform()), predicate })),
    warnings: asked.warnings ? buildxWarnings(warnings, ctx.dockerfile) : [],
  };
}
