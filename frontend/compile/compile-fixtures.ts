// Shared by the compile tests: a map-based image resolver and small accessors for graphs.
import type { Digest, ImageConfig, Platform } from '../../registry/oci/index.js';
import { DockerfileError } from '../errors.js';
import type { BuildGraph, CopyOp, ExecOp, Vertex } from '../graph.js';
import { compile } from './compile.js';
import type { CompileOptions } from './options.js';

export const amd64: Platform = { os: 'linux', architecture: 'amd64' };
export const arm64: Platform = { os: 'linux', architecture: 'arm64' };
const digest = (n: number): Digest => `sha256:${String(n).repeat(64).slice(0, 64)}`;

export const images: Record<string, ContainerConfigish> = {
  alpine: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
  'golang:1.22': { Env: ['PATH=/go/bin:/usr/local/go/bin', 'GOPATH=/go'], WorkingDir: '/go' },
  'golang:1.21': { Env: ['PATH=/go/bin'] },
  busybox: { Cmd: ['sh'] },
  'node:20': { Env: ['NODE_VERSION=20'], Entrypoint: ['docker-entrypoint.sh'], Cmd: ['node'], User: 'node' },
};
export type ContainerConfigish = NonNullable<ImageConfig['config']>;

/** A map-based resolver that records what it was asked for. */
export function resolver(): { calls: string[]; resolveImage: CompileOptions['resolveImage'] } {
  const calls: string[] = [];
  return {
    calls,
    resolveImage: async (ref, platform) => {
      calls.push(`${ref}@${platform.architecture}`);
      const config = images[ref];
      if (!config) throw new Error(`no such image ${ref}`);
      return { ref: `docker.io/library/${ref}`, digest: digest(Object.keys(images).indexOf(ref) + 1), config: { architecture: platform.architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config } };
    },
  };
}

export async function build(text: string, opts: Partial<CompileOptions> = {}): Promise<{ graph: BuildGraph; calls: string[] }> {
  const r = resolver();
  const graph = await compile(text, { platform: amd64, buildPlatform: amd64, resolveImage: r.resolveImage, ...opts });
  return { graph, calls: r.calls };
}

export const vertex = (g: BuildGraph, id: string): Vertex => {
  const v = g.vertices.find((x) => x.id === id);
  if (!v) throw new Error(`no vertex ${id}: ${g.vertices.map((x) => x.id).join(' ')}`);
  return v;
};
export const exec = (g: BuildGraph, id: string): ExecOp => {
  const op = vertex(g, id).op;
  if (op.kind !== 'exec') throw new Error(`${id} is ${op.kind}`);
  return op;
};
export const copy = (g: BuildGraph, id: string): CopyOp => {
  const op = vertex(g, id).op;
  if (op.kind !== 'copy') throw new Error(`${id} is ${op.kind}`);
  return op;
};

export async function rejects(text: string, opts: Partial<CompileOptions> = {}): Promise<DockerfileError> {
  try {
    await build(text, opts);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error('expected a DockerfileError');
}

