import { readFileSync } from 'node:fs';
import type { BuildGraph } from '../frontend/index.js';
import { formatPlatform, type Platform } from '../registry/index.js';
import { UserError } from '../common/index.js';

/** OCI architecture → the name QEMU (and its binfmt_misc handler `qemu-NAME`) uses. */
const QEMU_ARCH: Record<string, string> = {
  arm64: 'aarch64', arm: 'arm', riscv64: 'riscv64', ppc64le: 'ppc64le', s390x: 's390x', amd64: 'x86_64', '386': 'i386', mips64le: 'mips64el',
};

const BINFMT = '/proc/sys/fs/binfmt_misc';

/** What binfmt_misc says about the handler for `architecture`: missing, disabled, without the F flag, or usable. */
export function emulationState(architecture: string, dir = BINFMT): 'unknown-arch' | 'not-mounted' | 'missing' | 'disabled' | 'no-fix-binary' | 'ok' {
  const qemu = QEMU_ARCH[architecture];
  if (qemu === undefined) return 'unknown-arch';
  let text: string;
  try {
    text = readFileSync(`${dir}/qemu-${qemu}`, 'utf8');
  } catch {
    try {
      readFileSync(`${dir}/status`, 'utf8');
    } catch {
      return 'not-mounted';
    }
    return 'missing';
  }
  if (!/^enabled$/m.test(text)) return 'disabled';
  // Without F the kernel opens the interpreter by path at exec time, inside the RUN's own mount namespace, where
  // /usr/libexec/qemu-binfmt does not exist: the exec fails with ENOENT. F opens it once, at registration.
  if (!/^flags:.*F/m.test(text)) return 'no-fix-binary';
  return 'ok';
}

/**
 * Checks, before anything runs, that every RUN for another architecture than the host's can run: through QEMU user
 * emulation registered in binfmt_misc with the fix-binary flag, as BuildKit requires (tonistiigi/binfmt).
 */
export function checkEmulation(graph: BuildGraph, host: Platform, dir = BINFMT): void {
  const foreign = new Map<string, Platform>();
  for (const v of graph.vertices) {
    if (v.op.kind !== 'exec') continue;
    const platform = graph.stages.find((s) => s.index === v.stage)?.platform;
    if (platform && platform.architecture !== host.architecture) foreign.set(platform.architecture, platform);
  }
  for (const [arch, platform] of foreign) {
    const state = emulationState(arch, dir);
    if (state === 'ok') continue;
    const qemu = QEMU_ARCH[arch] ?? arch;
    const why = {
      'unknown-arch': `tsbuild knows no QEMU emulator for architecture ${JSON.stringify(arch)}`,
      'not-mounted': `binfmt_misc is not mounted at ${dir}`,
      missing: `no binfmt_misc handler ${dir}/qemu-${qemu} is registered`,
      disabled: `the binfmt_misc handler ${dir}/qemu-${qemu} is disabled`,
      'no-fix-binary': `the binfmt_misc handler ${dir}/qemu-${qemu} lacks the fix-binary (F) flag, so it cannot run inside the build sandbox`,
    }[state];
    throw new UserError('EMULATION_UNAVAILABLE', `cannot RUN for ${formatPlatform(platform)} on this ${host.architecture} host: ${why}`,
      'run `make setup` (scripts/binfmt.sh), or `apt-get install qemu-user-static binfmt-support` and register the handlers with the F flag');
  }
}
