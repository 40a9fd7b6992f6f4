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

/**
 * As formatPlatform, with the OS version when there is one: `windows(10.0.17763)/amd64`, containerd's
 * platforms.FormatAll (what BuildKit's TARGETPLATFORM says, dockerfile2llb/platform.go defaultArgs).
 */
export function formatPlatformAll(p: Platform): string {
  const version = p['os.version'] ?? '';
  if (version === '') return formatPlatform(p);
  const encoded = version.replace(/[%+()/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return formatPlatform({ ...p, os: `${p.os}(${encoded})` });
}

// containerd's osRe: `os` or `os(version)`; OS features (`+feature`) are not kept by tsbuild's Platform, so refused.
const OS_PART = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)\))?$/;

/**
 * Parses a platform as containerd's platforms.Parse reads `--platform` and `FROM --platform`: `os/arch[/variant]`
 * with the architecture's aliases resolved (aarch64, x86_64, armhf …), or one part alone, which is an OS (on the
 * host's architecture: `linux`) or else an architecture (on the host's OS: `arm64`). The OS may carry its version,
 * `windows(10.0.17763)/amd64` (%-escaped), kept as `os.version`. Undefined when malformed.
 * Callers that compare or format the result normalise it first (normalizePlatform), as buildx does.
 */
export function parsePlatform(text: string): Platform | undefined {
  const [first = '', ...rest] = text.trim().split('/');
  const osPart = OS_PART.exec(first);
  if (osPart === null) return undefined;
  let version: string;
  try { version = decodeURIComponent(osPart[2] ?? ''); } catch { return undefined; }   // a malformed %-escape
  const p = parseOsArch([(osPart[1] ?? '').toLowerCase(), ...rest.map((r) => r.toLowerCase())]);
  return p === undefined || version === '' ? p : { ...p, 'os.version': version };
}

// containerd's specifierRe and osRe, as its errors print them.
const SPECIFIER_RE = '^[A-Za-z0-9_.-]+$';
const OS_RE = '^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.%-]*)((?:\\+[A-Za-z0-9_.%-]+)*)\\))?$';

/**
 * Why parsePlatform refuses `text`, in containerd's words (platforms.Parse): what BuildKit's errors about a
 * platform it could not parse say. Undefined when `text` parses.
 */
export function platformParseError(text: string): string | undefined {
  if (parsePlatform(text) !== undefined) return undefined;
  const q = (s: string): string => JSON.stringify(s);
  if (text.includes('*')) return `${q(text)}: wildcards not yet supported: invalid argument`;
  const parts = text.split('/');
  const capped = [...parts.slice(0, 3), ...(parts.length > 3 ? [parts.slice(3).join('/')] : [])];
  for (const [i, part] of capped.entries()) {
    if (i === 0 && !new RegExp(OS_RE).test(part)) {
      return `${q(part)} is an invalid OS component of ${q(text)}: OSAndVersion specifier component must match ${q(OS_RE)}: invalid argument`;
    }
    if (i > 0 && !new RegExp(SPECIFIER_RE).test(part)) {
      return `${q(part)} is an invalid component of ${q(text)}: platform specifier component must match ${q(SPECIFIER_RE)}: invalid argument`;
    }
  }
  if (capped.length === 1) return `${q(text)}: unknown operating system or architecture: invalid argument`;
  return `${q(text)}: cannot parse platform specifier: invalid argument`;
}

function parseOsArch(parts: string[]): Platform | undefined {
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return undefined;
  if (parts.length === 1) {
    const [one = ''] = parts;
    const host = hostPlatform();
    if (KNOWN_OS.has(normalizeOs(one))) return { os: normalizeOs(one), architecture: host.architecture };
    const p = parseOsArch([host.os, one]);
    return p && KNOWN_ARCH.has(p.architecture) ? p : undefined;
  }
  const [os, arch, given] = parts as [string, string, string | undefined];
  // Debian's names for two ARM ABIs and the i386 alias name a variant too (containerd's normalizeArch).
  const alias = ARCH_ALIASES[arch];
  const architecture = alias?.architecture ?? normalizeArch(arch);
  const variant = alias !== undefined ? alias.variant : given;
  return variant ? { os: normalizeOs(os), architecture, variant } : { os: normalizeOs(os), architecture };
}

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  i386: { architecture: '386' }, armhf: { architecture: 'arm', variant: 'v7' }, armel: { architecture: 'arm', variant: 'v6' },
};

// containerd's isKnownOS and isKnownArch (platforms/database.go): what one part alone may name.
const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos']);
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le',
  'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);

/** containerd's normalizeOS: lower case, `macos` is darwin. */
function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
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

/** True when an image built for `candidate` can serve a request for `wanted` (platformRank). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  return platformRank(wanted, candidate) !== undefined;
}

/**
 * How well an image for `candidate` serves a request for `wanted`, as containerd's platforms.Only orders them (what
 * BuildKit and docker pull with): 0 for the platform itself, higher for each fallback the CPU also runs (amd64/v3 →
 * v2 → v1 → 386; arm/v7 → v6 → v5; arm64 → arm/v8 …), undefined when it cannot. Variants are compared after
 * containerd's normalisation (arm64 v8 and amd64 v1 are no variant, arm without one is v7): an amd64 host is never
 * served an amd64/v3 image, which its CPU may not run.
 */
export function platformRank(wanted: Platform, candidate: Platform): number | undefined {
  const c = normalizePlatform(candidate);
  const w = normalizePlatform(wanted);
  if (w.os === 'windows' && !windowsVersionMatches(w['os.version'] ?? '', c['os.version'] ?? '')) return undefined;
  const i = platformVector(w).findIndex((v) => v.os === c.os && v.architecture === c.architecture && (v.variant ?? '') === (c.variant ?? ''));
  return i < 0 ? undefined : i;
}

// Windows Server LTSC builds a host of a later build runs images of (containerd's compatLTSCReleases).
const LTSC_2022 = 20348;
const COMPAT_LTSC = [LTSC_2022, 26100];

/**
 * containerd's windowsVersionMatcher (platform_windows_compat.go), the one place a platform's OS version decides a
 * match: a Windows image serves a Windows request of the same major.minor, of the same build before LTSC 2022, else of
 * a build from the LTSC release before the asked one up to it. Either version empty (or not major.minor.build) matches.
 */
function windowsVersionMatches(wanted: string, candidate: string): boolean {
  const parse = (v: string): [number, number, number] | undefined => {
    const [major, minor, build] = v.split('.');
    const n = [major, minor, build].map((x) => (x !== undefined && /^\d+$/.test(x) ? Number(x) : NaN));
    return n.some((x) => Number.isNaN(x)) ? undefined : n as [number, number, number];
  };
  const host = parse(wanted);
  if (host === undefined || (host[0] === 0 && host[1] === 0 && host[2] === 0) || candidate === '') return true;
  const ctr = parse(candidate) ?? [0, 0, 0];
  if (host[0] !== ctr[0] || host[1] !== ctr[1]) return false;
  if (host[2] < LTSC_2022) return host[2] === ctr[2];
  const supported = [...COMPAT_LTSC].reverse().find((b) => host[2] > b) ?? LTSC_2022;
  return supported <= ctr[2] && ctr[2] <= host[2];
}

/**
 * containerd's platforms.Normalize (platforms/database.go normalizeOS, normalizeArch): arm64/v8 is arm64, arm is
 * arm/v7, amd64/v1 is amd64, aarch64 is arm64, macos is darwin. What buildx does to every `--platform`, and BuildKit
 * to the platform an image and its index entry name.
 */
export function normalizePlatform(p: Platform): Platform {
  const os = normalizeOs(p.os);
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  const alias = ARCH_ALIASES[arch];
  if (alias !== undefined) { arch = alias.architecture; variant = alias.variant ?? ''; }
  else if (arch === 'x86_64' || arch === 'x86-64' || arch === 'amd64') { arch = 'amd64'; if (variant === 'v1') variant = ''; }
  else if (arch === 'aarch64' || arch === 'arm64') { arch = 'arm64'; variant = ['8', 'v8', 'v8.0'].includes(variant) ? '' : ['9', '9.0', 'v9.0'].includes(variant) ? 'v9' : variant; }
  else if (arch === 'arm') variant = variant === '' || variant === '7' ? 'v7' : ['5', '6', '8'].includes(variant) ? `v${variant}` : variant;
  const osVersion = p['os.version'] !== undefined && p['os.version'] !== '' ? { 'os.version': p['os.version'] } : {};
  return variant === '' ? { os, architecture: arch, ...osVersion } : { os, architecture: arch, variant, ...osVersion };
}

// arm64 variants and the versions each runs (containerd's arm64variantToVersion): major versions with their minor.
const ARM64_VERSIONS: Record<string, [number, number][]> = {
  ...Object.fromEntries(Array.from({ length: 10 }, (_, m) => [m === 0 ? 'v8' : `v8.${m}`, [[8, m]] as [number, number][]])),
  'v8.0': [[8, 0]],
  ...Object.fromEntries(Array.from({ length: 8 }, (_, m) => [m === 0 ? 'v9' : `v9.${m}`, [[9, m], [8, Math.min(m + 5, 9)]] as [number, number][]])),
  'v9.0': [[9, 0], [8, 5]],
};

/** containerd's platformVector: the platforms an image may be for to run where `p` (normalised) is asked, best first. */
function platformVector(p: Platform): Platform[] {
  const at = (architecture: string, variant?: string): Platform => normalizePlatform(variant === undefined ? { os: p.os, architecture } : { os: p.os, architecture, variant });
  const level = (v: string | undefined): number => Number.parseInt((v ?? '').replace(/^v/, ''), 10);
  if (p.architecture === 'amd64') {
    const out = [p];
    for (let v = level(p.variant) - 1; v >= 1; v--) out.push(at('amd64', `v${v}`));
    return [...out, at('386')];
  }
  if (p.architecture === 'arm') {
    const out = [p];
    for (let v = level(p.variant) - 1; v >= 5; v--) out.push(at('arm', `v${v}`));
    return out;
  }
  if (p.architecture === 'arm64') {
    const variant = p.variant ?? 'v8';
    const out: Platform[] = [];
    for (const [major, minor] of ARM64_VERSIONS[variant] ?? []) {
      for (let m = minor; m >= 0; m--) out.push(at('arm64', m === 0 ? `v${major}` : `v${major}.${m}`));
    }
    return [...out, ...platformVector(at('arm', variant.startsWith('v8') || variant.startsWith('v9') ? 'v8' : variant))];
  }
  return [p];
}
