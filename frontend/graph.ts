import type { ContainerConfig, Digest, ImageConfig, Platform } from '../registry/oci/index.js';

// The build graph: what the frontend hands the solver. Plain data only (JSON-serialisable, no methods), so a graph
// can be printed, diffed and built by tests without running anything.

/**
 * Stable within one compile: `s<stage>.<step>` (step 0 is the stage's FROM); an image read by COPY --from or a RUN
 * mount gets a source vertex `s<stage>.<step>.from<k>` placed just before the step that reads it.
 */
export type VertexId = string;

/** Where an instruction is in its Dockerfile; lines and columns are 1-based. */
export interface SourceRange {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Where a COPY, ADD or RUN --mount reads from. */
export type SourceRef =
  | { kind: 'context'; name?: string }                         // the build context (after .dockerignore); `name`: a named one (--build-context NAME=DIR)
  | { kind: 'vertex'; id: VertexId }                           // another stage's result or an image (COPY --from)
  | { kind: 'inline'; files: { name: string; content: string }[] };  // heredoc: COPY <<EOF /dest

/**
 * How the solver and the worker key a RUN mount's source: 'context' (the main build context), `context:NAME` (a named
 * local context), 'inline' (a heredoc script) or the source vertex id.
 */
export function sourceKey(ref: SourceRef): string {
  switch (ref.kind) {
    case 'context': return ref.name === undefined ? 'context' : `context:${ref.name}`;
    case 'vertex': return ref.id;
    case 'inline': return 'inline';
    default: return assertNever(ref);
  }
}

/** FROM an image. `digest` is the platform manifest digest the builder resolved it to, so it is part of the key. */
export interface ImageOp { kind: 'image'; ref: string; digest: Digest; platform: Platform }
/** FROM scratch: an empty filesystem. */
export interface ScratchOp { kind: 'scratch'; platform: Platform }

/** RUN --mount entries, with every default applied by the frontend. */
export type RunMount =
  | { type: 'bind'; target: string; from: SourceRef; source: string; readwrite: boolean }
  | {
    type: 'cache'; target: string; id: string; sharing: 'shared' | 'private' | 'locked'; from?: SourceRef; source: string; readonly: boolean; uid: number; gid: number; mode: number;
    /** The build arg BUILDKIT_CACHE_MOUNT_NS: caches of the same id under another namespace are other caches. */
    namespace?: string;
  }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; uid: number; gid: number; mode: number }
  | { type: 'ssh'; id: string; target: string; required: boolean; uid: number; gid: number; mode: number };

/** docker's `--ulimit` names (go-units ulimit.go). */
export type UlimitName = 'core' | 'cpu' | 'data' | 'fsize' | 'locks' | 'memlock' | 'msgqueue' | 'nice' | 'nofile' | 'nproc' | 'rss' | 'rtprio' | 'rttime' | 'sigpending' | 'stack';

/** RUN. env/cwd/user are final: image config + ENV + WORKDIR + USER + the build args in scope. */
export interface ExecOp {
  kind: 'exec';
  argv: string[];           // shell form already wrapped in SHELL (default ["/bin/sh","-c"])
  env: string[];            // KEY=value
  /**
   * Proxy variables from the build args (both spellings, KEY=value), appended to `env` when the step runs and left out
   * of its cache key, as BuildKit's ExecOp meta proxyEnv: a runner behind another proxy still hits the cache.
   */
  proxyEnv?: string[];
  cwd: string;              // absolute
  user: string;             // as written (`name`, `uid`, `uid:gid`, `name:group`); '' means root
  mounts: RunMount[];
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  /** `--add-host NAME:IP` as /etc/hosts lines (`IP<TAB>NAME`), as BuildKit's ExecOp meta extraHosts. */
  extraHosts?: string[];
  /** `--ulimit NAME=SOFT[:HARD]` (docker's names; -1 is unlimited), as BuildKit's ExecOp meta ulimit. */
  ulimits?: { name: UlimitName; soft: number; hard: number }[];
  /** `--shm-size`: /dev/shm's size in bytes (64 MiB when absent), as BuildKit's ExecOp meta shmSize. */
  shmSize?: number;
  /** `--cgroup-parent`: the cgroup (a path below the root) the step's own is made under, as BuildKit's ExecOp meta cgroupParent. */
  cgroupParent?: string;
  /** The build arg `BUILDKIT_SANDBOX_HOSTNAME`, as BuildKit's ExecOp meta hostname; absent: the worker's default. */
  hostname?: string;
}

/** COPY and ADD. Paths are expanded; `dest` is absolute (resolved against WORKDIR) and keeps a trailing slash. */
export interface CopyOp {
  kind: 'copy';
  mode: 'copy' | 'add';     // ADD also extracts local tar archives and accepts URLs
  from: SourceRef;
  sources: string[];        // relative to the source root; may hold wildcards (Go filepath.Match syntax)
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  checksum?: string;        // ADD --checksum
  keepGitDir?: boolean;     // ADD --keep-git-dir
  unpack?: boolean;         // ADD --unpack (explicit; undefined means ADD's default: unpack local archives)
  /** USER at this point: a COPY without --chown still creates WORKDIR-like parents as root, as docker does. */
}

/** WORKDIR creates its directory (owned by the current USER, as BuildKit does). */
export interface MkdirOp { kind: 'mkdir'; path: string; user: string }

/** ENV, LABEL, CMD, EXPOSE …: config only, no filesystem change. `change` is what this step set. */
export interface MetaOp {
  kind: 'meta';
  /** The config fields this step set, each with its whole new value (Env, Labels … already merged). */
  change: Partial<ContainerConfig>;
  /** MAINTAINER: the image's `author`. */
  author?: string;
}

/** Every operation a vertex can hold; handled by exhaustive switches ending in assertNever. */
export type Op = ImageOp | ScratchOp | ExecOp | CopyOp | MkdirOp | MetaOp;

/** One step of the build. */
export interface Vertex {
  id: VertexId;
  op: Op;
  /** inputs[0] is the parent filesystem (absent for image/scratch); the rest are COPY --from and mount sources. */
  inputs: VertexId[];
  /** The instruction as history's created_by shows it, e.g. `RUN /bin/sh -c make # buildkit`, `ENV A=b`. */
  text: string;
  /**
   * RUN, COPY/ADD and WORKDIR: the step as progress names it, BuildKit's custom name (step-name.ts): the line as
   * written with its variables expanded. Display only, never a key ingredient.
   */
  name?: string;
  location?: SourceRange;
  stage: number;
  /** The build args (ARG) this step's expansion or environment used, with their values: key ingredients. */
  args: Record<string, string>;
  /** True when this step never changes the filesystem (history `empty_layer`). */
  emptyLayer: boolean;
  /**
   * TARGETPLATFORM, TARGETOS, TARGETARCH and TARGETVARIANT as this step's environment holds them (an ARG declared in
   * the stage, an ENV), when it holds any: what BuildKit's platformFromEnv reads to name a step of a stage on another
   * platform `[linux/amd64->arm64 …]`. Display only, never a key ingredient.
   */
  targetEnv?: Record<string, string>;
  /** A step the base image's ONBUILD triggers made (progress names it `ONBUILD RUN …`, as BuildKit). Display only. */
  onbuild?: true;
}

/** One stage of the Dockerfile that the target needs. */
export interface Stage {
  index: number;            // position in the Dockerfile
  name?: string;            // `AS name`, lower-cased
  platform: Platform;
  /** The image this stage's FROM resolved to, when it is an image (its layers and history come first). */
  base?: { ref: string; digest: Digest; config: ImageConfig };
  /** The stage's vertices in order; the first is its FROM (or the FROM stage's result for FROM <stage>). */
  vertices: VertexId[];
  /** The last vertex: the stage's result. */
  result: VertexId;
  /** The runtime config of the stage's image once every instruction applied (base config merged). */
  config: ContainerConfig;
}

/** The compiled build: only the stages and vertices the target needs, vertices in topological order. */
export interface BuildGraph {
  vertices: Vertex[];
  stages: Stage[];
  /** Index into `stages` of the stage to output. */
  target: number;
}

/** Throws when a switch over a union missed a member: a compile error first, a runtime guard second. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
