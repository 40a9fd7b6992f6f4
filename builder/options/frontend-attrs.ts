import { redactUrl } from '../../common/index.js';
import { formatPlatform, type Platform } from '../../registry/index.js';
import type { NetworkMode, NamedContext } from './build-flags.js';

// The build settings as buildx sends them to BuildKit's frontend (build/opt.go toSolveOpt and loadInputs), which
// BuildKit keeps with the build's history record and `buildx history inspect` reads back (commands/history/
// inspect.go): tsbuild keeps the same attributes in its record (BuildRecord.frontendAttrs) for the same reader.
// Build args, the target and a remote context's URL have fields of their own in the record and are not repeated here.

/** The settings of one build, as the CLI parsed them (named contexts before a remote one is fetched). */
export interface BuildSettings {
  platforms?: Platform[];
  labels: Record<string, string>;
  namedContexts?: Record<string, NamedContext>;
  network?: NetworkMode;
  /** `--add-host` as /etc/hosts lines (`IP<TAB>NAME`, parseAddHosts). */
  extraHosts?: string[];
  noCache: boolean;
  noCacheFilter: string[];
  shmSize?: number;
  cgroupParent?: string;
  ulimits?: { name: string; soft: number; hard: number }[];
}

/** The frontend attributes buildx would send for `s` (each key as toSolveOpt writes it, in the same cases). */
export function buildSettingsAttrs(s: BuildSettings): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels)) attrs[`label:${k}`] = v;
  for (const [name, c] of Object.entries(s.namedContexts ?? {})) attrs[`context:${name}`] = namedContextAttr(name, c);
  // The last `no-cache` wins there too: --no-cache (everything) over --no-cache-filter's stages.
  if (s.noCacheFilter.length > 0) attrs['no-cache'] = s.noCacheFilter.join(',');
  if (s.noCache) attrs['no-cache'] = '';
  if (s.platforms?.length) attrs.platform = s.platforms.map(formatPlatform).join(',');
  if (s.network === 'host' || s.network === 'none') attrs['force-network-mode'] = s.network;
  // toBuildkitExtraHosts: NAME=IP, one per address, comma-separated.
  if (s.extraHosts?.length) attrs['add-hosts'] = s.extraHosts.map((line) => line.split('\t').reverse().join('=')).join(',');
  if (s.shmSize !== undefined && s.shmSize > 0) attrs['shm-size'] = String(s.shmSize);
  if (s.cgroupParent !== undefined) attrs['cgroup-parent'] = s.cgroupParent;
  // toBuildkitUlimits: go-units Ulimit.String, NAME=SOFT:HARD.
  if (s.ulimits?.length) attrs.ulimit = s.ulimits.map((u) => `${u.name}=${u.soft}:${u.hard}`).join(',');
  return attrs;
}

/**
 * A named context as loadInputs sends it: an image as `docker-image://REF`, an OCI layout as its reference (buildx
 * names its store by a random id there; the layout's path says more), a remote source as its URL (credentials
 * redacted), a local directory as the local mount it becomes, `local:NAME` (`_context`/`_dockerfile` for those two
 * names, which the main mounts hold).
 */
function namedContextAttr(name: string, c: NamedContext): string {
  switch (c.kind) {
    case 'image': return c.ref.startsWith('oci-layout://') ? c.ref : `docker-image://${c.ref}`;
    case 'remote': return redactUrl(c.url);
    case 'local': return `local:${localMountName(name)}`;
  }
}

/** The name of the local mount buildx gives a named local context (loadInputs: `_` before `context` and `dockerfile`). */
export function localMountName(name: string): string {
  return name === 'context' || name === 'dockerfile' ? `_${name}` : name;
}
