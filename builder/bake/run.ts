import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../common/index.js';
import { BakeTargetError } from './errors.js';
import { writeMetadataObject } from '../metadata-file.js';
import type { Resolved } from './resolve.js';
import { targetFlags, type BakeRunOptions } from './target-flags.js';
import type { Target } from './target.js';

// Building a resolved bake definition: each target through `tsbuild build`'s own path (commands/build.ts
// runBuildFlags), one after another, a target after the targets its `target:` contexts name. Each dependency also
// writes an OCI layout (a temp directory) that its dependents read as their named context. The builds share the
// root and its cache, so a stage common to two targets is built once.

/** The order to build in: dependencies (by `target:` contexts) first, otherwise by name. */
export function buildOrder(targets: Record<string, Target>): string[] {
  const out: string[] = [];
  const visit = (name: string): void => {
    if (out.includes(name)) return;
    for (const v of Object.values(targets[name]?.contexts ?? {})) {
      const dep = v.startsWith('target:') ? v.slice('target:'.length) : undefined;
      if (dep && dep in targets) visit(dep);
    }
    out.push(name);
  };
  for (const name of Object.keys(targets).sort()) visit(name);
  return out;
}

/** The targets some other target uses as a `target:` context. */
function dependencies(targets: Record<string, Target>): Set<string> {
  return new Set(Object.values(targets).flatMap((t) => Object.values(t.contexts ?? {}).filter((v) => v.startsWith('target:')).map((v) => v.slice('target:'.length))));
}

/** Runs `build(context, flags)` for every target; writes `metadataFile` as buildx does: one object keyed by target. */
export async function runBake(
  resolved: Resolved,
  opts: Omit<BakeRunOptions, 'layouts'> & { metadataFile?: string },
  build: (context: string, flags: import('../commands/build-flags.js').BuildFlags) => Promise<void>,
): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'tsbuild-bake-'));
  const layouts = new Map<string, string>();
  const deps = dependencies(resolved.targets);
  const metadata: Record<string, unknown> = {};
  const warnings: unknown[] = [];
  try {
    for (const name of buildOrder(resolved.targets)) {
      const target = resolved.targets[name] as Target;
      let inline: string | undefined;
      if (target['dockerfile-inline'] !== undefined) {
        inline = join(tmp, `${name}.Dockerfile`);
        await writeFile(inline, target['dockerfile-inline']);
      }
      const { context, flags } = targetFlags(name, target, { ...opts, layouts }, inline);
      if (deps.has(name)) {
        const dir = join(tmp, `${name}.oci`);
        // A linked target's only buildx output is the cache; its result reaches dependents as this layout.
        flags.output = [...flags.output.filter((o) => o !== 'type=cacheonly'), `type=oci,dest=${dir},tar=false`];
        layouts.set(name, dir);
      }
      const meta = opts.metadataFile ? join(tmp, `${name}.metadata.json`) : undefined;
      if (meta) flags.metadataFile = meta;
      // A heading between the targets' progress, never inside machine-read (JSON) progress.
      if (!opts.quiet && !['rawjson', 'tsbuild-json'].includes(opts.progress)) process.stderr.write(`#bake target ${name}\n`);
      try {
        await build(context, flags);
      } catch (err) {
        if (isTsbuildError(err)) throw new BakeTargetError(name, err);
        if (err instanceof Error) err.message = `target ${JSON.stringify(name)}: ${err.message}`;
        throw err;
      }
      if (meta) {
        const { 'buildx.build.warnings': warn, ...rest } = JSON.parse(await readFile(meta, 'utf8').catch(() => '{}')) as Record<string, unknown>;
        metadata[name] = rest;
        // buildx writes the warnings (BUILDX_METADATA_WARNINGS) once, beside the targets, for the whole bake.
        if (Array.isArray(warn)) warnings.push(...(warn as unknown[]));
      }
    }
    if (opts.metadataFile) {
      if (warnings.length) metadata['buildx.build.warnings'] = warnings;
      await writeMetadataObject(opts.metadataFile, metadata);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
