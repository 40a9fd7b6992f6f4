import { parseDockerfile } from '../frontend/index.js';
import { formatReference, parseReference, type Reference, type RegistryClient } from '../registry/index.js';
import { isOciLayoutRef } from './oci-layout-image.js';
import { namedImage, type NamedContext } from './options/build-flags.js';

/**
 * The registry images a Dockerfile's FROM lines name literally, as the build will resolve them: not a variable
 * (`FROM $BASE` needs its ARGs expanded by the compiler), not an earlier stage, not `scratch`, not an OCI layout or
 * a named context that is no image (a `--build-context` image stands in for the name). Best effort: a Dockerfile
 * that does not parse, or a reference that is not one, gives nothing here and its error where it is compiled.
 */
export function literalBaseImages(dockerfileText: string, contexts: Record<string, NamedContext> = {}): Reference[] {
  let instructions;
  try {
    instructions = parseDockerfile(dockerfileText).instructions;
  } catch {
    return [];
  }
  const stages = new Set<string>();
  const out = new Map<string, Reference>();
  for (const inst of instructions) {
    if (inst.keyword !== 'FROM') continue;
    const [image, as, name] = inst.args;
    if (image !== undefined && !image.includes('$') && image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase())) {
      const named = contexts[image] ?? contexts[image.replace(/^(docker\.io\/)?(library\/)?/, '')];
      const text = namedImage(image, contexts);
      if ((named === undefined || named.kind === 'image') && !isOciLayoutRef(text)) {
        try {
          const ref = parseReference(text);
          out.set(formatReference(ref), ref);
        } catch { /* the compiler reports it, located */ }
      }
    }
    if (as?.toLowerCase() === 'as' && name !== undefined) stages.add(name.toLowerCase());
  }
  return [...out.values()];
}

/**
 * Sends the manifest GET of every FROM tag now (RegistryClient.prefetchTag), before the build locks and opens its
 * root, checks and compiles the Dockerfile: the round trip overlaps that work instead of following it. The tag is
 * still asked of the registry on every build, once; the compiler's resolve takes the answer.
 */
export function prefetchBaseImages(client: RegistryClient, dockerfileText: string, contexts: Record<string, NamedContext> | undefined, signal: AbortSignal): void {
  for (const ref of literalBaseImages(dockerfileText, contexts)) client.prefetchTag(ref, signal);
}
