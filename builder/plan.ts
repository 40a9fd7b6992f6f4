import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { compile, type BuildGraph } from '../frontend/index.js';
import { RegistryClient, UserError, parseReference, type Platform } from '../registry/index.js';
import { hostPlatform } from './build.js';

/** What `tsbuild plan` needs: the build flags that shape the graph. */
export interface PlanRequest {
  contextDir: string;
  dockerfile?: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform: Platform | undefined;
  signal: AbortSignal;
}

/** Compiles the Dockerfile to its graph without building: base images are resolved (to key on their digests), nothing runs. */
export async function compileOnly(req: PlanRequest): Promise<BuildGraph> {
  const path = resolve(req.dockerfile ?? join(req.contextDir, 'Dockerfile'));
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new UserError('DOCKERFILE_NOT_FOUND', `failed to read Dockerfile ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'pass -f PATH');
  });
  const client = new RegistryClient();
  try {
    return await compile(text, {
      file: path, buildArgs: req.buildArgs, platform: req.platform ?? hostPlatform(), buildPlatform: hostPlatform(),
      ...(req.target ? { target: req.target } : {}),
      resolveImage: async (ref, platform) => {
        const image = await client.resolveImage(parseReference(ref), platform, req.signal);
        return { ref: image.ref, digest: image.descriptor.digest, config: image.config };
      },
    });
  } finally {
    await client.close();
  }
}
