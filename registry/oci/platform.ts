/** An OCI platform (image-spec image-index.md). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

/** Formats a platform as docker does on the command line: `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Parses `os/arch[/variant]` as given to `--platform`; returns undefined when malformed. */
export function parsePlatform(text: string): Platform | undefined {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) return undefined;
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture: normalizeArch(architecture), variant } : { os, architecture: normalizeArch(architecture) };
}

/** Node's `process.arch` names → OCI architecture names. */
export function ociArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

/**
 * The platform this process runs on, as OCI names it: linux/amd64, linux/arm64 … (one definition for the registry
 * client, the builder and the CLI's `--platform local`).
 */
export function hostPlatform(): Platform {
  return { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: ociArch(process.arch) };
}

function normalizeArch(arch: string): string {
  if (arch === 'x86_64' || arch === 'x86-64') return 'amd64';
  if (arch === 'aarch64') return 'arm64';
  return arch;
}

/** True when an image built for `candidate` satisfies a request for `wanted` (variant only checked when asked for). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false;
  if (!wanted.variant) return true;
  // arm64 images commonly omit the v8 variant (containerd's platforms.Normalize treats them as equal).
  return wanted.variant === (candidate.variant ?? (candidate.architecture === 'arm64' ? 'v8' : undefined));
}
