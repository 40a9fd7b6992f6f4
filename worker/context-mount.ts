import { rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyOp } from '../frontend/index.js';
import type { FileSource, ProgressSink } from '../solver/index.js';
import type { ExecMountSource } from './exec/index.js';
import { copyInto, statMemoFor, WHITEOUT_LAYER, writeContextWhiteouts } from './fileops/index.js';
import { overlayMountOptions } from './rootless/index.js';
import { withMounts } from './snapshots/mount.js';
import { makeTempDirSync } from './temp-dirs.js';

/** Progress of work a step does for itself (a filtered context for a bind mount): not the step's own lines. */
const SILENT: ProgressSink = { log: () => undefined, status: () => undefined };

type ContextSource = Extract<FileSource, { kind: 'context' }>;

/** A context's whiteout layer (a lower dir), or why the context is copied instead. */
type ContextLayer = { kind: 'layer'; dir: string } | { kind: 'refused'; reason: string };

// overlayfs splits its options on ',' and lowerdir on ':' (the RUN helper escapes them, mount(8) and fuse-overlayfs
// options here do not): a context whose path holds one is copied rather than probed.
const OPTION_SYNTAX = /[,:\\]/;

/**
 * The RUN --mount=type=bind sources of build contexts: what COPY sees of a context, without what .dockerignore
 * excludes, as BuildKit mounts it (the step's key leaves those files out too: one must neither reach the step nor
 * change what it reads behind the cache's back). A context without excludes is bound as it is. With excludes, a step
 * gets a read-only overlay of the context directory under a layer of whiteouts for what is excluded
 * (fileops/context-whiteouts.ts): written once per build and context, in a temp dir of the worker, and shared by the
 * build's steps, so a step's bind costs a mount, and the build what is excluded, not the context's size. overlayfs
 * never writes a lower layer (it even mounts its lowers read-only and noatime), and a `rw` bind gets an upper dir in
 * the step's state dir (exec/mount-plan.ts), so no step can change the context or the shared layer.
 *
 * Where that overlay would show something the copy does not (owners other than 0:0, FIFOs, device nodes, a mount
 * point inside the context) or overlay refuses the context directory as a lower layer (a filesystem it does not
 * stack on, too deep a stack), each step copies the filtered context into its state dir instead, through the
 * confined writer, and its progress says why.
 */
export class ContextMounts {
  readonly #tempDir: string;
  /** By the build's context source object (the solver hands every step the same one, as statMemoFor relies on). */
  readonly #layers = new WeakMap<object, Promise<ContextLayer>>();
  /** The temp dirs made, removed by close(). */
  readonly #dirs: string[] = [];

  /** `tempDir`: the worker's temp dir, whose `<kind>-<pid>-` entries a later worker removes if this process dies. */
  constructor(tempDir: string) {
    this.#tempDir = tempDir;
  }

  /** The mount source for context `source` in a step whose state dir is `stateDir` (`id`: the source's key there). */
  async source(source: ContextSource, stateDir: string, id: string, signal: AbortSignal, progress: ProgressSink): Promise<ExecMountSource> {
    if (source.excludes.length === 0) return { kind: 'dir', path: source.dir };
    const layer = await this.#layer(source, signal);
    if (layer.kind === 'layer') return { kind: 'overlay', lowerDirs: [layer.dir, source.dir] };
    // Said in the step's progress: it is why the step takes as long as a copy of its context.
    progress.status(`the context is copied for its bind mount (not overlaid: ${layer.reason})`);
    const dir = join(stateDir, 'context', encodeURIComponent(id));
    await mkdir(dir, { recursive: true });
    const all: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources: ['.'], dest: '/', link: false, parents: false, exclude: [] };
    await copyInto(all, { kind: 'dir', path: source.dir, excludes: source.excludes, memo: statMemoFor(source) }, dir, signal, SILENT);
    return { kind: 'dir', path: dir };
  }

  /** Removes the layers (no mount uses them once the build's steps are over). */
  close(): void {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  #layer(source: ContextSource, signal: AbortSignal): Promise<ContextLayer> {
    let layer = this.#layers.get(source);
    if (layer === undefined) {
      layer = this.#makeLayer(source, signal);
      // A failed or cancelled write is not kept: the next step tries again (and fails as it should, if it does).
      layer.catch(() => this.#layers.delete(source));
      this.#layers.set(source, layer);
    }
    return layer;
  }

  async #makeLayer(source: ContextSource, signal: AbortSignal): Promise<ContextLayer> {
    const dir = makeTempDirSync(this.#tempDir, 'ctxlayer');
    this.#dirs.push(dir);
    const refusal = await probeLower(source.dir, join(dir, 'probe'), this.#tempDir);
    if (refusal !== undefined) return { kind: 'refused', reason: refusal };
    const written = await writeContextWhiteouts({ path: source.dir, excludes: source.excludes, memo: statMemoFor(source) }, dir, signal);
    return written.kind === 'written' ? { kind: 'layer', dir: join(dir, WHITEOUT_LAYER) } : { kind: 'refused', reason: written.reason };
  }
}

/**
 * Mounts `dir` as the lower layer of a read-only overlay (under the empty dir `empty`) with the options the
 * snapshotter uses here, and unmounts it: overlay refuses some filesystems as layers (case-folding ones, vfat,
 * autofs) and stacks at most two overlays deep. Mounted in the temp dir `tempDir`. Returns why it failed, or undefined.
 */
async function probeLower(dir: string, empty: string, tempDir: string): Promise<string | undefined> {
  if (OPTION_SYNTAX.test(dir) || OPTION_SYNTAX.test(empty)) return 'its path or the state root\'s holds one of , : \\';
  await mkdir(empty);
  try {
    await withMounts([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${empty}:${dir}`, ...overlayMountOptions()] }], tempDir, async () => undefined);
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim().split('\n')[0] : err instanceof Error ? err.message : String(err);
    return `overlay does not take the context directory as a lower layer: ${detail}`;
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}
