import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { formatPlatform, hostPlatform } from '../../registry/oci/index.js';
import { emulationState } from '../emulation.js';
import { gcPolicyFromEnv, pruneSpaceOptions } from '../gc.js';
import type { GcRule, MachineFacts } from './view.js';

// The facts every builder shows, read from this machine: the platforms its RUN steps can run on (the host's, and
// each architecture whose QEMU handler builder/emulation.ts finds usable: the same check a build makes), the worker
// labels, and the automatic gc's policy (builder/gc.ts) in bytes of the root's filesystem.

// The architectures BuildKit lists after the host's, in its order (binfmt's), each with the platforms it covers.
const EMULATED: [string, string[]][] = [
  ['amd64', ['linux/amd64']], ['arm64', ['linux/arm64']], ['riscv64', ['linux/riscv64']], ['ppc64le', ['linux/ppc64le']],
  ['s390x', ['linux/s390x']], ['386', ['linux/386']], ['mips64le', ['linux/mips64le']], ['arm', ['linux/arm/v7', 'linux/arm/v6']],
];

/** The facts of this machine for the state root `root`; `version` is tsbuild's. */
export function machineFacts(root: string, version: string, env: NodeJS.ProcessEnv = process.env): MachineFacts {
  const host = hostPlatform();
  const platforms = [formatPlatform(host)];
  for (const [arch, pfs] of EMULATED) if (arch !== host.architecture && emulationState(arch) === 'ok') platforms.push(...pfs);
  return {
    root, version: `tsbuild ${version}`, platforms,
    labels: {
      'org.mobyproject.buildkit.worker.executor': 'tsbuild-run',
      'org.mobyproject.buildkit.worker.hostname': hostname(),
      'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs',
    },
    gcPolicy: gcRules(root, env),
  };
}

/** The automatic gc's policy as one BuildKit rule (none when TSBUILD_GC=off); percentages of the root's filesystem. */
function gcRules(root: string, env: NodeJS.ProcessEnv): GcRule[] {
  const policy = gcPolicyFromEnv(env);
  if (policy === undefined) return [];
  let dir = root;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);   // a root not made yet: its filesystem to be
  const o = pruneSpaceOptions(policy, dir);
  return [{ all: false, filter: null, keepDuration: 0, reservedSpace: o.reservedSpace ?? 0, maxUsedSpace: o.maxUsedSpace ?? 0, minFreeSpace: o.minFreeSpace ?? 0 }];
}
