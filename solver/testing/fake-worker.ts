// In-memory Worker and ImageSource for the solver's unit tests and benchmarks: filesystems are maps of path →
// content, snapshots are names in a map, layers are made-up descriptors. They record every call.
import type { CopyOp, ExecOp, MkdirOp } from '../../frontend/index.js';
import { canonicalJson, MediaType, sha256 } from '../../registry/oci/index.js';
import type { Digest, ImageConfig, ImageManifest } from '../../registry/oci/index.js';
import type { ContentDigest, ExecResources, FileSource, FsState, ImageSource, LayerRef, ProgressSink, Worker } from '../ports.js';

/** One recorded worker call: the method and a short description of its op. */
export interface FakeCall { method: string; what: string }

/** Hooks a test uses to make an exec slow, failing or observable. */
export type ExecHook = (op: ExecOp, signal: AbortSignal, progress: ProgressSink) => Promise<void> | void;

/** A Worker whose filesystems live in memory. Exec writes `/<last argv word>` holding that word. */
export class FakeWorker implements Worker {
  readonly calls: FakeCall[] = [];
  /** The build context: path → content. Tests edit it between solves. */
  context: Record<string, string> = {};
  execHook: ExecHook | undefined;
  readonly #snapshots = new Map<string, Record<string, string>>();
  /** The files each layer this worker (or one sharing the map: another "runner") wrote adds, by layer digest. */
  readonly #blobs: Map<Digest, Record<string, string>>;
  #next = 0;

  constructor(blobs = new Map<Digest, Record<string, string>>()) {
    this.#blobs = blobs;
  }

  /** Unpacks layers this worker or a sharing one wrote into their files; any other image is a made-up base. */
  async unpack(layers: LayerRef[], signal: AbortSignal): Promise<FsState> {
    signal.throwIfAborted();
    this.calls.push({ method: 'unpack', what: layers.map((l) => l.descriptor.digest).join(',') });
    const known = layers.map((l) => this.#blobs.get(l.descriptor.digest));
    const [base, ...rest] = known;
    const files = base === undefined ? { '/etc/os-release': sha256(canonicalJson(layers.map((l) => l.diffId))) } : { ...base };
    for (const added of rest) Object.assign(files, added ?? {});
    return { snapshot: this.#commit(files), layers };
  }

  async exec(op: ExecOp, parent: FsState, resources: ExecResources, signal: AbortSignal, progress: ProgressSink): Promise<FsState> {
    this.calls.push({ method: 'exec', what: op.argv.join(' ') });
    void resources;
    await this.execHook?.(op, signal, progress);
    signal.throwIfAborted();
    const word = op.argv[op.argv.length - 1] ?? '';
    return this.#layer(parent, { [`/${word}`]: word });
  }

  async copy(op: CopyOp, parent: FsState, source: FileSource, signal: AbortSignal): Promise<FsState> {
    signal.throwIfAborted();
    this.calls.push({ method: 'copy', what: `${op.sources.join(',')} ${op.dest}` });
    const files: Record<string, string> = {};
    for (const [path, content] of Object.entries(this.#select(source, op))) files[`${op.dest}${path}`] = content;
    return this.#layer(parent, files);
  }

  async mkdir(op: MkdirOp, parent: FsState, signal: AbortSignal): Promise<FsState> {
    signal.throwIfAborted();
    this.calls.push({ method: 'mkdir', what: op.path });
    return this.#layer(parent, { [`${op.path}/`]: '' });
  }

  async contentDigest(source: FileSource, op: CopyOp, signal: AbortSignal): Promise<ContentDigest> {
    signal.throwIfAborted();
    this.calls.push({ method: 'contentDigest', what: op.sources.join(',') });
    const files: Record<string, Digest> = {};
    for (const [path, content] of Object.entries(this.#select(source, op))) files[path] = sha256(content);
    return { digest: sha256(canonicalJson(files)), files };
  }

  async hasSnapshot(name: string): Promise<boolean> {
    return this.#snapshots.has(name);
  }

  /** Forgets a snapshot, as a prune through the worker would. */
  dropSnapshot(name: string): void {
    this.#snapshots.delete(name);
  }

  /** The files of a filesystem. */
  filesOf(fs: FsState): Record<string, string> {
    return fs.snapshot === null ? {} : (this.#snapshots.get(fs.snapshot) ?? {});
  }

  /** How many calls of `method` were made. */
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  #select(source: FileSource, op: CopyOp): Record<string, string> {
    const all =
      source.kind === 'context' ? this.context
      : source.kind === 'fs' ? this.filesOf(source.fs)
      : Object.fromEntries(source.files.map((f) => [f.name, f.content]));
    const out: Record<string, string> = {};
    for (const [path, content] of Object.entries(all)) {
      const rel = path.replace(/^\//, '');
      if (op.sources.some((s) => s === '.' || rel === s || rel.startsWith(`${s.replace(/\/$/, '')}/`))) out[rel] = content;
    }
    return out;
  }

  #layer(parent: FsState, files: Record<string, string>): FsState {
    const merged = { ...this.filesOf(parent), ...files };
    const snapshot = this.#commit(merged);
    const digest = sha256(`${snapshot}:${canonicalJson(files)}`);
    this.#blobs.set(digest, files);
    const descriptor = { mediaType: MediaType.ociLayerGzip, digest, size: 100 };
    return { snapshot, layers: [...parent.layers, { descriptor, diffId: digest }] };
  }

  #commit(files: Record<string, string>): string {
    const name = `snap-${++this.#next}`;
    this.#snapshots.set(name, files);
    return name;
  }
}

/** An ImageSource that serves a made-up one-layer image for any digest and counts pulls. */
export class FakeImages implements ImageSource {
  pulls = 0;

  async pull(ref: string, digest: Digest, signal: AbortSignal): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
    signal.throwIfAborted();
    this.pulls++;
    const layer = { mediaType: MediaType.ociLayerGzip, digest: sha256(`layer of ${digest}`), size: 1000 };
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.ociConfig, digest: sha256(`config of ${ref}@${digest}`), size: 10 },
      layers: [layer],
    };
    const config: ImageConfig = { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [layer.digest] } };
    return { manifest, config };
  }
}
