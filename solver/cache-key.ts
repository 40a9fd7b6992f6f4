import { assertNever } from '../frontend/index.js';
import type { Op, RunMount, SourceRef, Vertex } from '../frontend/index.js';
import { canonicalJson, sha256 } from '../registry/oci/index.js';
import type { Digest } from '../registry/oci/index.js';

/**
 * The ingredients of a step's cache key, kept so a miss can be explained. Only what changes the result is keyed;
 * `opText` rides along for explaining and is left out of the digest (display text never enters a key).
 */
export interface CacheKeyParts {
  /**
   * Bumped when the recipe changes: every old key then simply misses (KEY_VERSION; parts read back from an older
   * cache, export or report carry their own).
   */
  v: number;
  /** canonicalJson of the op, normalised by keyOp(): no vertex ids, no secret values, no image ref names. */
  op: string;
  /** The instruction as written (vertex.text), for explaining only. */
  opText: string;
  /** Keys of the input vertices the result depends on (the parent filesystem first). */
  inputs: Digest[];
  /** Per file source (`context`, `vertex`, `inline`, `mount:/target`): the content digest of the selected files. */
  content: Record<string, Digest>;
  /** The build args this step used, with their values. */
  args: Record<string, string>;
  /** `os/arch[/variant]` the step builds for. */
  platform: string;
}

/**
 * The key recipe this tsbuild computes. 2: secret-looking values enter the key as their digest (secret-parts.ts).
 * 3: a step that changes nothing has its own (empty) layer, where a v2 record holds its parent's result.
 */
export const KEY_VERSION = 3;

/** A content-addressed cache key with the parts it was computed from. */
export interface CacheKey { digest: Digest; parts: CacheKeyParts }

/** The key of `parts`: sha256 of their canonical JSON without the display-only `opText`. */
export function cacheKey(parts: CacheKeyParts): CacheKey {
  const { opText: _display, ...keyed } = parts;
  return { digest: sha256(canonicalJson(keyed)), parts };
}

/**
 * The op as it enters a key. Vertex ids are positions in one compile, not content: a COPY --from source is keyed by
 * the content digest of the files it selects, and a mount source by its position in `inputs` (whose keys are in
 * the parts). An image keys on its resolved manifest digest, not on the name it was asked for by.
 */
export function keyOp(vertex: Vertex): string {
  return canonicalJson(normaliseOp(vertex.op, vertex.inputs));
}

function normaliseOp(op: Op, inputs: string[]): unknown {
  switch (op.kind) {
    case 'image':
      return { kind: op.kind, digest: op.digest };
    case 'scratch':
      return { kind: op.kind };
    case 'exec': {
      // proxyEnv is not keyed (BuildKit's ExecOp CacheMap clears Meta.ProxyEnv too).
      const { proxyEnv: _, ...keyed } = op;
      return { ...keyed, mounts: op.mounts.map((m) => normaliseMount(m, inputs)) };
    }
    case 'copy': {
      // The selected files' content is keyed separately (parts.content), so only the source's kind stays. So is
      // --checksum: an HTTP source's content entry holds it, and a git source is keyed by the commit it resolved to,
      // which the checksum only verifies: adding one to an ADD of the same commit keeps the cache, as BuildKit's
      // git source keys by the commit alone (source/git/source.go, CacheKey; testAddGitChecksumCache).
      const { checksum: _verifiedOnly, ...keyed } = op;
      return { ...keyed, from: op.from.kind === 'context' && op.from.name !== undefined ? { kind: 'context', name: op.from.name } : { kind: op.from.kind } };
    }
    case 'mkdir':
    case 'meta':
      return op;
    default:
      return assertNever(op);
  }
}

function normaliseMount(mount: RunMount, inputs: string[]): unknown {
  switch (mount.type) {
    case 'bind':
      return { ...mount, from: normaliseRef(mount.from, inputs) };
    case 'cache':
      return mount.from === undefined ? mount : { ...mount, from: normaliseRef(mount.from, inputs) };
    case 'tmpfs':
    case 'secret': // only the secret's id and where it appears: its value never enters a key
    case 'ssh':
      return mount;
    default:
      return assertNever(mount);
  }
}

function normaliseRef(ref: SourceRef, inputs: string[]): unknown {
  switch (ref.kind) {
    case 'context':
      return ref.name === undefined ? { kind: 'context' } : { kind: 'context', name: ref.name }; // keyed by content (parts.content['mount:<target>'])
    case 'vertex':
      return { kind: 'vertex', input: inputs.indexOf(ref.id) };
    case 'inline':
      return ref;
    default:
      return assertNever(ref);
  }
}
