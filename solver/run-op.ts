import { assertNever, sourceKey } from '../frontend/index.js';
import type { ExecOp, Vertex, VertexId } from '../frontend/index.js';
import type { Digest, ImageConfig, ImageManifest } from '../registry/oci/index.js';
import type { ContextSource, ExecResources, FileSource, FsState, ImageSource, LayerRef, ProgressSink, RunLimits, SecretSource, Worker } from './ports.js';
import { fileSource, mountContentName } from './vertex-parts.js';
import type { SolvedInput } from './vertex-parts.js';
import { UserError } from '../common/index.js';

/** What running one op needs. */
export interface RunContext {
  worker: Worker;
  images: ImageSource;
  context: ContextSource;
  secrets: Record<string, SecretSource>;
  /** `--ssh ID=SOCKET`: agent sockets on the host by id. */
  ssh?: Record<string, string>;
  /** `--resource`: every RUN's cgroup limits. */
  limits?: RunLimits;
  inputs: Map<VertexId, SolvedInput>;
  /** The content digests of the step's key (CacheKeyParts.content): what names a `type=cache,from=` mount's cache. */
  content?: Record<string, Digest>;
  signal: AbortSignal;
  progress: ProgressSink;
}

/**
 * A RUN that failed, as it was run: what `tsbuild debug --on=error` needs to open a shell where it failed (its
 * parent filesystem, with the step's mounts, secrets and environment). Kept by the error's identity, not in it.
 */
export interface FailedExec { op: ExecOp; parent: FsState; resources: ExecResources }
const failedExecs = new WeakMap<object, FailedExec>();

/** The RUN behind `err` (or an error it was the cause of, as a located StepError), when a RUN's failure is what it is. */
export function failedExecOf(err: unknown): FailedExec | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const found = failedExecs.get(e);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** An empty filesystem: FROM scratch. */
export const EMPTY_FS: FsState = { snapshot: null, layers: [] };

/** Executes one vertex's op on its solved inputs and returns the filesystem it produced. */
export async function runOp(vertex: Vertex, ctx: RunContext): Promise<FsState> {
  const op = vertex.op;
  switch (op.kind) {
    case 'image': {
      const { manifest, config } = await ctx.images.pull(op.ref, op.digest, ctx.signal, ctx.progress);
      return ctx.worker.unpack(imageLayers(op.ref, manifest, config), ctx.signal, ctx.progress);
    }
    case 'scratch':
      return EMPTY_FS;
    case 'exec': {
      const parent = parentFs(vertex, ctx);
      const resources = execResources(op, ctx);
      try {
        return await ctx.worker.exec(op, parent, resources, ctx.signal, ctx.progress);
      } catch (err) {
        if (typeof err === 'object' && err !== null) failedExecs.set(err, { op, parent, resources });
        throw err;
      }
    }
    case 'copy':
      return ctx.worker.copy(op, parentFs(vertex, ctx), fileSource(op.from, ctx), ctx.signal, ctx.progress);
    case 'mkdir':
      return ctx.worker.mkdir(op, parentFs(vertex, ctx), ctx.signal);
    case 'meta':
      return parentFs(vertex, ctx); // config only: the filesystem is the parent's, unchanged
    default:
      return assertNever(op);
  }
}

/** An image's layers, bottom first: the manifest's blobs paired with the config's diff_ids, which must match in number. */
export function imageLayers(ref: string, manifest: ImageManifest, config: ImageConfig): LayerRef[] {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new UserError('INVALID_LAYER', `${ref}: the manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`,
      'the image is malformed: rebuild or re-push it');
  }
  return manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i] ?? descriptor.digest }));
}

/** Bytes of the layers `fs` adds on top of `parent` (blob sizes as the store holds them: uncompressed for layers a build made). */
export function addedSize(fs: FsState, parent: FsState | undefined): number {
  return fs.layers.slice(parent?.layers.length ?? 0).reduce((sum, layer) => sum + layer.descriptor.size, 0);
}

function parentFs(vertex: Vertex, ctx: RunContext): FsState {
  const id = vertex.inputs[0];
  const parent = id === undefined ? undefined : ctx.inputs.get(id);
  if (parent === undefined) throw new Error(`vertex ${vertex.id} (${vertex.op.kind}) has no solved parent filesystem`);
  return parent.fs;
}

/** Mount sources keyed by sourceKey() ('context', `context:NAME` or the source vertex id), and only the secrets and SSH agents this step asks for. */
function execResources(op: ExecOp, ctx: RunContext): ExecResources {
  const sources: Record<string, FileSource> = {};
  const secrets: Record<string, SecretSource> = {};
  const ssh: Record<string, string> = {};
  const cacheSources: Record<string, Digest> = {};
  for (const m of op.mounts) {
    if ((m.type === 'bind' || m.type === 'cache') && m.from !== undefined) {
      sources[sourceKey(m.from)] = fileSource(m.from, ctx);
      if (m.type === 'cache') {
        // vertexParts keyed it by the content it selects: the same digest names its cache (the seed is that content).
        const digest = ctx.content?.[mountContentName(m.target)];
        if (digest === undefined) throw new Error(`RUN --mount=type=cache,from=… at ${m.target}: the step's key has no content digest of its source`);
        cacheSources[m.target] = digest;
      }
    } else if (m.type === 'secret') {
      const value = ctx.secrets[m.id];
      if (value !== undefined) secrets[m.id] = value;
      else if (m.required) {
        // BuildKit's words (session/secrets GetSecret: `secret ID: not found`), so a log reads the same on both.
        throw new UserError('SECRET_NOT_FOUND', `secret ${m.id}: not found`, `the mount is required: pass it with --secret id=${m.id},src=<file> (or env=<VAR>)`);
      }
    } else if (m.type === 'ssh') {
      const socket = ctx.ssh?.[m.id];
      if (socket !== undefined) ssh[m.id] = socket;
      else if (m.required) {
        throw new UserError('SECRET_NOT_FOUND', `RUN --mount=type=ssh needs the SSH agent "${m.id}", but --ssh ${m.id} was not given`,
          m.id === 'default' ? 'pass --ssh default (it forwards $SSH_AUTH_SOCK), or mark the mount required=false' : `pass --ssh ${m.id}=<agent socket>, or mark the mount required=false`);
      }
    }
  }
  return {
    sources, secrets, ...(Object.keys(ssh).length > 0 ? { ssh } : {}), ...(Object.keys(cacheSources).length > 0 ? { cacheSources } : {}),
    ...(ctx.limits ? { limits: ctx.limits } : {}),
  };
}
