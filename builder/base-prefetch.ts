import { neededStageBases } from '../frontend/index.js';
import { namedContextKey } from '../common/index.js';
import { formatReference, parseReference, type Reference, type RegistryClient } from '../registry/index.js';
import { isOciLayoutRef } from './oci-layout-image.js';
import { namedImage, type NamedContext } from './options/build-flags.js';

/**
 * The registry images that the FROM lines of the stages `target` needs name literally, as the build will resolve
 * them: not a variable (`FROM $BASE` needs its ARGs expanded by the compiler), not an earlier stage, not `scratch`, not
 * an OCI layout or a named context that is no image (a `--build-context` image stands in for the name). Which stages
 * the target needs (following FROM, `COPY --from` and `RUN --mount=from=`) is the compiler's own plan
 * (neededStageBases); when the Dockerfile does not parse or names a stage that is not there, nothing: the compiler
 * reports it. No unused stage's image is asked for (a registry may count each request).
 */
export function literalBaseImages(dockerfileText: string, contexts: Record<string, NamedContext> = {}, target?: string): Reference[] {
  const out = new Map<string, Reference>();
  for (const { ref } of literalBases(dockerfileText, contexts, target)) out.set(formatReference(ref), ref);
  return [...out.values()];
}

/** literalBaseImages with each image's FROM text, one entry per text. */
function literalBases(dockerfileText: string, contexts: Record<string, NamedContext>, target?: string): { written: string; ref: Reference }[] {
  let bases: string[];
  try {
    bases = neededStageBases(dockerfileText, target, { replaced: Object.keys(contexts) });
  } catch {
    return [];
  }
  const out = new Map<string, Reference>();
  for (const image of bases) {
    const text = image.includes('$') ? undefined : registryImageText(image, contexts);
    if (text === undefined) continue;
    try {
      out.set(image, parseReference(text));
    } catch { /* the compiler reports it, located */ }
  }
  return [...out].map(([written, ref]) => ({ written, ref }));
}

/**
 * The reference a FROM's image stands for in a registry (a `--build-context` image in place of the name), or
 * undefined when it names none: `scratch`, an OCI layout, a named context that is not an image.
 */
export function registryImageText(image: string, contexts: Record<string, NamedContext>): string | undefined {
  if (image.toLowerCase() === 'scratch') return undefined;
  const named = contexts[namedContextKey(image)];
  const text = namedImage(image, contexts);
  return (named !== undefined && named.kind !== 'image') || isOciLayoutRef(text) || text === 'scratch' ? undefined : text;
}

/**
 * Sends the manifest GET of every FROM tag the build needs now (RegistryClient.prefetchTag), before the build locks
 * and opens its root, checks and compiles the Dockerfile: the round trip overlaps that work instead of following it.
 * The tag is still asked of the registry on every build, once; the compiler's resolve takes the answer.
 */
export function prefetchBaseImages(client: RegistryClient, dockerfileText: string, opts: { namedContexts?: Record<string, NamedContext>; target?: string }, signal: AbortSignal): void {
  for (const ref of literalBaseImages(dockerfileText, opts.namedContexts, opts.target)) client.prefetchTag(ref, signal);
}
