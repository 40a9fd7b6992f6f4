import { assertNever } from '../frontend/index.js';
import type { CopyOp, SourceRef, Vertex, VertexId } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import { KEY_VERSION, keyOp } from './cache-key.js';
import { redactParts } from './secret-parts.js';
import type { CacheKeyParts } from './cache-key.js';
import type { ContentDigest, ContentFiles, ContextSource, FileSource, FsState } from './ports.js';

/**
 * What a solved input vertex contributes to its dependents. `fsKey` is the key of the step that last changed the
 * filesystem: a config-only step (LABEL, CMD, EXPOSE …) passes its parent's through, so changing a LABEL does not
 * invalidate the RUN after it, as in BuildKit, where such instructions never enter the LLB graph. (ENV, WORKDIR and
 * USER still reach later steps: through the env, cwd and user inside their ops.) `fsId`/`fsText` name that step.
 */
export interface SolvedInput {
  key: Digest; fs: FsState; text: string; fsKey: Digest; fsId: VertexId; fsText: string;
  /** The step was taken from the cache: a step keyed on it that misses does so because it builds on another step now. */
  cached?: boolean;
}

/** The key parts of a vertex, the per-file digests behind its content, and the vertices behind `parts.inputs`. */
/**
 * `sources`: what each content name (as in `files`) was read from and with which selection, so a miss can ask the
 * worker about its changed files (Worker.withModeChanges).
 */
export interface VertexParts { parts: CacheKeyParts; files: ContentFiles; sources: Record<string, { source: FileSource; op: CopyOp }>; keyedInputs: VertexId[] }

/** Everything vertexParts() reads besides the vertex. */
export interface PartsContext {
  inputs: Map<VertexId, SolvedInput>;
  /** The worker's contentDigest, or the solver's wrapper that answers for lazy remote results. */
  contentDigest(source: FileSource, op: CopyOp, signal: AbortSignal): Promise<ContentDigest>;
  context: ContextSource;
  platform: string;
  signal: AbortSignal;
}

/**
 * Computes a vertex's key parts. File sources are keyed by the content of exactly the files they select (the
 * worker's contentDigest, which ignores mtime), so a COPY --from a rebuilt stage still hits when the files it takes
 * are the same; that source vertex's own key is then left out of `inputs`.
 */
export async function vertexParts(vertex: Vertex, ctx: PartsContext): Promise<VertexParts> {
  const content: Record<string, Digest> = {};
  const files: ContentFiles = {};
  const sources: VertexParts['sources'] = {};
  const contentKeyed = new Set<VertexId>();
  const addContent = async (name: string, ref: SourceRef, op: CopyOp): Promise<void> => {
    const source = fileSource(ref, ctx);
    const digest = await ctx.contentDigest(source, op, ctx.signal);
    content[name] = digest.digest;
    files[name] = digest.files;
    sources[name] = { source, op };
  };
  const op = vertex.op;
  if (op.kind === 'copy') {
    await addContent(op.from.kind === 'context' && op.from.name !== undefined ? `context:${op.from.name}` : op.from.kind, op.from, op);
    if (op.from.kind === 'vertex') contentKeyed.add(op.from.id);
  } else if (op.kind === 'exec') {
    // A bind or cache mount never becomes part of the step's result (dockerfile2llb makes a read-write bind
    // ForceNoOutput), so BuildKit keys it by the content of the subtree it selects (ExecOp.getMountDeps →
    // NewContentHashFunc) and not by the key of the stage behind it: a rebuilt stage that gives the same files
    // leaves the RUN cached (BuildKit's testMountRWCache).
    for (const m of op.mounts) {
      if ((m.type === 'bind' || m.type === 'cache') && m.from !== undefined && m.from.kind !== 'inline') {
        await addContent(mountContentName(m.target), m.from, selectOp(m.source, m.from));
        if (m.from.kind === 'vertex') contentKeyed.add(m.from.id);
      }
    }
  }
  // inputs[0] is the parent filesystem: always keyed, even in the odd case that it is also the copy source.
  const keyedInputs = vertex.inputs.filter((id, i) => i === 0 || !contentKeyed.has(id));
  // Redacted before hashing: a secret-looking value is keyed (and stored, exported, reported) as its digest only.
  const parts: CacheKeyParts = redactParts({
    v: KEY_VERSION,
    op: keyOp(vertex),
    opText: vertex.text,
    inputs: keyedInputs.map((id) => solved(ctx, id).fsKey),
    content,
    args: vertex.args,
    platform: ctx.platform,
  });
  return { parts, files, sources, keyedInputs };
}

/** The name of a RUN mount's source content in CacheKeyParts.content: `mount:TARGET`. */
export function mountContentName(target: string): string {
  return `mount:${target}`;
}

/** Where a COPY or mount reads from, resolved against the solved inputs and the build context. */
export function fileSource(ref: SourceRef, ctx: Pick<PartsContext, 'inputs' | 'context'>): FileSource {
  switch (ref.kind) {
    case 'context': {
      if (ref.name === undefined) return ctx.context;
      const named = ctx.context.named?.[ref.name];
      if (named === undefined) throw new Error(`no named context "${ref.name}" was given to the solver`);
      return named;
    }
    case 'vertex': {
      // The key of the step that made the filesystem: a remote cache's facts name a source it never exported by it.
      const input = solved(ctx, ref.id);
      return { kind: 'fs', fs: input.fs, key: input.fsKey };
    }
    case 'inline':
      return { kind: 'inline', files: ref.files };
    default:
      return assertNever(ref);
  }
}

function solved(ctx: Pick<PartsContext, 'inputs'>, id: VertexId): SolvedInput {
  const input = ctx.inputs.get(id);
  if (input === undefined) throw new Error(`vertex input ${id} was not solved first`);
  return input;
}

/** A COPY that selects `source`: how a RUN --mount asks for the content key of what it mounts. */
function selectOp(source: string, from: SourceRef): CopyOp {
  // From a stage, owners are kept in the digest: a mount shows them as they are (a COPY --chown would not).
  return { kind: 'copy', mode: 'copy', from, sources: [source], dest: '/', link: false, parents: false, exclude: [] };
}
