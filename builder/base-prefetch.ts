import { parseDockerfile, type Instruction } from '../frontend/index.js';
import { formatReference, parseReference, type Reference, type RegistryClient } from '../registry/index.js';
import { isOciLayoutRef } from './oci-layout-image.js';
import { namedImage, type NamedContext } from './options/build-flags.js';

interface Stage { name?: string; base: string; uses: string[] }

/**
 * The registry images that the FROM lines of the stages `target` needs name literally, as the build will resolve
 * them: not a variable (`FROM $BASE` needs its ARGs expanded by the compiler), not an earlier stage, not `scratch`, not
 * an OCI layout or a named context that is no image (a `--build-context` image stands in for the name). A stage is
 * needed when the target (default: the last stage) stands on it or names it in `COPY --from` or `RUN --mount=from=`;
 * a stage named only through a variable is left out, as is everything when the Dockerfile does not parse: the
 * compiler resolves those itself. No unused stage's image is asked for (a registry may count each request).
 */
export function literalBaseImages(dockerfileText: string, contexts: Record<string, NamedContext> = {}, target?: string): Reference[] {
  let stages: Stage[];
  try {
    stages = stagesOf(parseDockerfile(dockerfileText).instructions);
  } catch {
    return [];
  }
  const byName = (ref: string): number => {
    const lower = ref.toLowerCase();
    const named = stages.findIndex((s) => s.name === lower);
    return named >= 0 ? named : /^\d+$/.test(ref) && Number(ref) < stages.length ? Number(ref) : -1;
  };
  const start = target === undefined ? stages.length - 1 : byName(target);
  const needed = new Set<number>();
  const visit = (i: number): void => {
    const stage = stages[i];
    if (stage === undefined || needed.has(i)) return;
    needed.add(i);
    const base = stages.findIndex((s, j) => j < i && s.name === stage.base.toLowerCase());
    if (base >= 0) visit(base);
    for (const use of stage.uses) visit(byName(use));
  };
  visit(start);
  const out = new Map<string, Reference>();
  for (const [i, stage] of stages.entries()) {
    const image = stage.base;
    if (!needed.has(i) || image.includes('$') || image.toLowerCase() === 'scratch') continue;
    if (stages.some((s, j) => j < i && s.name === image.toLowerCase())) continue;
    const named = contexts[image] ?? contexts[image.replace(/^(docker\.io\/)?(library\/)?/, '')];
    const text = namedImage(image, contexts);
    if ((named !== undefined && named.kind !== 'image') || isOciLayoutRef(text)) continue;
    try {
      const ref = parseReference(text);
      out.set(formatReference(ref), ref);
    } catch { /* the compiler reports it, located */ }
  }
  return [...out.values()];
}

/** Each FROM's image and name, and the stages (or images) its COPY --from and RUN --mount=from name. */
function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const inst of instructions) {
    if (inst.keyword === 'FROM') {
      const [base, as, name] = inst.args;
      stages.push({ base: base ?? '', ...(as?.toLowerCase() === 'as' && name !== undefined ? { name: name.toLowerCase() } : {}), uses: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage === undefined) continue;
    for (const flag of inst.flags) {
      if (flag.name === 'from' && flag.value !== undefined) stage.uses.push(flag.value);
      if (flag.name === 'mount' && flag.value !== undefined) {
        const from = flag.value.split(',').map((kv) => kv.split('=')).find(([k]) => k === 'from')?.[1];
        if (from !== undefined) stage.uses.push(from);
      }
    }
  }
  return stages;
}

/**
 * Sends the manifest GET of every FROM tag the build needs now (RegistryClient.prefetchTag), before the build locks
 * and opens its root, checks and compiles the Dockerfile: the round trip overlaps that work instead of following it.
 * The tag is still asked of the registry on every build, once; the compiler's resolve takes the answer.
 */
export function prefetchBaseImages(client: RegistryClient, dockerfileText: string, opts: { namedContexts?: Record<string, NamedContext>; target?: string }, signal: AbortSignal): void {
  for (const ref of literalBaseImages(dockerfileText, opts.namedContexts, opts.target)) client.prefetchTag(ref, signal);
}
