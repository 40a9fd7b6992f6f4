import { randomUUID } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { compile, parseDockerignore, type BuildGraph } from '../frontend/index.js';
import { SqliteCacheIndex, crashPoint, solve, type BuildRecord, type CacheKey, type VertexRecord } from '../solver/index.js';
import type { CacheFromSpec, CacheToSpec } from './cache/cache-spec.js';
import { inlineCacheIfAsked, openRemoteCache, prepareOutputs, writeCaches } from './cache/build-cache.js';
import { LinuxWorker } from '../worker/index.js';
import {
  RegistryClient, UserError, isTsbuildError, ociArch,
  type Digest, type Platform, type RegistryMetrics,
} from '../registry/index.js';
import { assembleImage, type AssembledImage } from './image/assemble.js';
import { rememberSource } from './format-error.js';
import { lockRoot } from './root-lock.js';
import { redactRecord } from './report/index.js';
import { RegistryImageSource } from './image-source.js';
import type { OutputSpec } from './options/output.js';
import { writeOutputs } from './outputs/write-outputs.js';
import type { ProgressWriter } from './progress/index.js';

/** Everything `tsbuild build` was asked to do, already parsed. */
export interface BuildRequest {
  contextDir: string;
  /** The Dockerfile path (`-f`); `<context>/Dockerfile` when absent. */
  dockerfile?: string;
  /** The Dockerfile's text when it came from stdin (`-f -` or the context `-`); wins over `dockerfile`. */
  dockerfileText?: string;
  tags: string[];
  target?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  outputs: OutputSpec[];
  platform?: Platform;
  noCache: boolean;
  noCacheFilter: string[];
  root: string;
  secrets: Record<string, string>;
  progress: ProgressWriter;
  signal: AbortSignal;
  sourceDateEpoch?: number;
  /** Entitlements granted with `--allow` (buildx's names): `security.insecure`, `network.host`. */
  allow: string[];
  /** `--cache-from`: remote caches asked after a local miss. */
  cacheFrom?: CacheFromSpec[];
  /** `--cache-to`: where this build's cache records are exported. */
  cacheTo?: CacheToSpec[];
  /** `--insecure-registry`: hosts reached with unverified TLS, or plain HTTP when they speak no TLS. */
  insecureRegistries?: string[];
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
  image: AssembledImage;
  digest: Digest;
  records: VertexRecord[];
  graph: BuildGraph;
  /** Registry traffic of the whole build: pulls and pushes. */
  metrics: RegistryMetrics;
  pushed: string[];
}

/** The platform of this host, as images name it. */
export function hostPlatform(): Platform {
  return { os: 'linux', architecture: ociArch(process.arch) };
}

/** The Dockerfile (`-f`, else `<context>/Dockerfile`) with a located error and a hint when it cannot be read. */
export async function readDockerfile(req: Pick<BuildRequest, 'contextDir' | 'dockerfile' | 'dockerfileText'>): Promise<{ path: string; text: string }> {
  // From stdin (`-f -`, or `-` as the context): errors still say `Dockerfile:N`, as docker's do.
  if (req.dockerfileText !== undefined) return { path: resolve(req.contextDir, 'Dockerfile'), text: req.dockerfileText };
  const path = resolve(req.dockerfile ?? join(req.contextDir, 'Dockerfile'));
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (err) {
    throw new UserError('DOCKERFILE_NOT_FOUND', `failed to read Dockerfile ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      req.dockerfile ? 'check the -f/--file path' : `add a Dockerfile to ${req.contextDir} or pass -f PATH`, { cause: err });
  }
}

/** `.dockerignore` beside the context root, or `<Dockerfile>.dockerignore` beside the Dockerfile (BuildKit's rule). */
export async function readExcludes(contextDir: string, dockerfilePath: string): Promise<string[]> {
  for (const candidate of [`${dockerfilePath}.dockerignore`, join(contextDir, '.dockerignore')]) {
    const text = await readFile(candidate, 'utf8').catch(() => undefined);
    if (text !== undefined) return parseDockerignore(text);
  }
  return [];
}

/** When each vertex's result was first built: its cache record's time (now for a step that just ran). */
async function builtAt(cache: SqliteCacheIndex, keys: Record<string, CacheKey>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [id, key] of Object.entries(keys)) {
    const record = await cache.get(key.digest);
    if (record) out[id] = record.created;
  }
  return out;
}

/** Runs one build: compile, solve, assemble the image, write every output, record it in the build history. */
export async function runBuild(req: BuildRequest): Promise<BuildOutcome> {
  const contextDir = resolve(req.contextDir);
  const info = await stat(contextDir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError('CONTEXT_NOT_FOUND', `build context ${contextDir} is not a directory`, 'pass the directory holding your sources, e.g. `tsbuild build .`');
  }
  const dockerfile = await readDockerfile({ ...req, contextDir });
  rememberSource(dockerfile.path, dockerfile.text);
  const excludes = await readExcludes(contextDir, dockerfile.path);
  const platform = req.platform ?? hostPlatform();

  // Shared with other builds, exclusive of prune: see root-lock.ts.
  const lock = await lockRoot(req.root, 'shared', () => req.progress.note(`waiting for a prune of ${req.root} to finish`));
  try {
    return await buildLocked(req, contextDir, dockerfile, excludes, platform);
  } finally {
    await lock.release();
  }
}

/** The build proper, once the root is locked. */
async function buildLocked(
  req: BuildRequest, contextDir: string, dockerfile: { path: string; text: string }, excludes: string[], platform: Platform,
): Promise<BuildOutcome> {
  const worker = await LinuxWorker.open({ root: req.root, sourceDateEpoch: req.sourceDateEpoch });
  const cache = SqliteCacheIndex.open(req.root);
  const client = new RegistryClient({ insecureRegistries: req.insecureRegistries ?? [], onRetry: (e) => req.progress.note(`retrying ${e.operation} in ${e.delayMs} ms (attempt ${e.attempt}): ${e.error.message}`) });
  const images = new RegistryImageSource(client, worker.store);
  const buildId = randomUUID().replaceAll('-', '').slice(0, 20);
  const started = Date.now();
  const record: BuildRecord = {
    id: buildId, started, finished: started, status: 'failed', dockerfile: dockerfile.path,
    ...(req.target ? { target: req.target } : {}), args: req.buildArgs, tags: req.tags, vertices: [],
  };
  let leaseId: string | undefined;
  try {
    const remote = await openRemoteCache(req.cacheFrom ?? [], { client, store: worker.store, images, platform, progress: req.progress, signal: req.signal });
    const graph = await compile(dockerfile.text, {
      file: dockerfile.path, buildArgs: req.buildArgs, platform, buildPlatform: hostPlatform(),
      ...(req.target ? { target: req.target } : {}),
      resolveImage: (ref, p) => images.resolve(ref, p, req.signal),
    });
    checkEntitlements(graph, req.allow);
    req.progress.plan(graph, dockerfile.text);
    const solved = await solve(graph, {
      worker, images, cache, context: { kind: 'context', dir: contextDir, excludes },
      secrets: req.secrets, noCache: req.noCache, noCacheFilter: req.noCacheFilter, signal: req.signal,
      onEvent: (e) => req.progress.event(e), buildId, locatorPrefix: `${contextDir}:${dockerfile.path}`,
      ...(remote.cache ? { remote: remote.cache } : {}),
    });
    leaseId = solved.leaseId;
    record.vertices = solved.records;
    const assembled = assembleImage(graph, solved.results, {
      labels: req.labels, builtAt: await builtAt(cache, solved.keys),
      ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
    });
    const image = inlineCacheIfAsked(assembled, graph, solved, req.cacheTo ?? []);
    await worker.store.put(image.configBytes, image.configDescriptor.mediaType);
    await worker.store.put(image.manifestBytes, image.manifestDescriptor.mediaType);
    const target = solved.results[graph.stages[graph.target]?.result ?? ''];
    if (!target) throw new Error('solve returned no result for the target stage');
    const fs = await prepareOutputs(image, target, req.outputs, { worker, remote, progress: req.progress, signal: req.signal });
    const pushed = await writeOutputs(image, req.outputs, { client, store: worker.store, images, progress: req.progress, signal: req.signal, worker, fs });
    await writeCaches(req.cacheTo ?? [], graph, solved, image, pushed, { client, remote, progress: req.progress, signal: req.signal });
    record.status = 'succeeded';
    record.resultDigest = image.manifestDescriptor.digest;
    return { buildId, image, digest: image.manifestDescriptor.digest, records: solved.records, graph, metrics: client.metrics, pushed };
  } catch (err) {
    record.status = req.signal.aborted ? 'cancelled' : 'failed';
    record.error = { message: err instanceof Error ? err.message : String(err), ...(isTsbuildError(err) ? { code: err.code } : {}) };
    throw err;
  } finally {
    record.finished = Date.now();
    crashPoint('before-build-record'); // test hook, see solver/crash-point.ts
    cache.recordBuild(redactRecord(record));   // the history may be shown, reported or attached: no secret-named arg values
    if (leaseId) await cache.release(leaseId);
    cache.close();
    worker.close();
    await client.close();
  }
}

/** Writes `--metadata-file` as buildx does (its keys), plus tsbuild's cache and transfer figures. */
export async function writeMetadata(file: string, outcome: BuildOutcome, names: string[]): Promise<void> {
  const cached = outcome.records.filter((r) => r.cached).length;
  const remote = outcome.records.filter((r) => r.cacheSource === 'remote').length;
  const metadata = {
    'buildx.build.ref': outcome.buildId,
    'containerimage.digest': outcome.digest,
    'containerimage.config.digest': outcome.image.configDescriptor.digest,
    'containerimage.descriptor': { ...outcome.image.manifestDescriptor },
    ...(names.length ? { 'image.name': names.join(',') } : {}),
    'tsbuild.cache': { steps: outcome.records.length, cached, missed: outcome.records.length - cached, remote },
    'tsbuild.transfer': outcome.metrics,
  };
  await writeFile(resolve(file), `${JSON.stringify(metadata, null, 2)}\n`);
}
