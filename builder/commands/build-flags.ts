import type { Command } from 'commander';
import { formatPlatform, parsePlatform, type Platform } from '../../registry/oci/index.js';
import type { ProgressMode } from '../progress/index.js';
import { UserError } from '../../common/index.js';

// What `build` and `plan` share: their flags, named as in `docker buildx build`. `--root` is the program's (global).

export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Flags shared by `build` and `plan`, named as in `docker buildx build`. */
export function addBuildFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'name of the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('-t, --tag <name>', 'name and optionally a tag (name:tag); repeatable', collect, [])
    .option('--target <stage>', 'set the target build stage to build')
    .option('--build-arg <key=value>', 'set a build-time variable; repeatable', collect, [])
    .option('--platform <os/arch,...>', 'set the target platform(s) for the build, e.g. linux/amd64,linux/arm64')
    .option('--debug', 'print the cause chain of errors');
}

/** `--platform a,b`: the target platforms, normalised as containerd does (arm64/v8 → arm64, arm → arm/v7), deduplicated. */
export function platformsOption(text: string | undefined): Platform[] | undefined {
  if (text === undefined) return undefined;
  const out = new Map<string, Platform>();
  for (const item of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const p = parsePlatform(item);
    if (!p) throw new UserError('INVALID_ARGUMENT', `invalid --platform ${JSON.stringify(item)}`, 'write os/arch[/variant], e.g. linux/amd64 or linux/amd64,linux/arm64');
    const normal: Platform = p.architecture === 'arm64' && p.variant === 'v8' ? { os: p.os, architecture: p.architecture }
      : p.architecture === 'arm' && p.variant === undefined ? { ...p, variant: 'v7' } : p;
    out.set(formatPlatform(normal), normal);
  }
  if (out.size === 0) throw new UserError('INVALID_ARGUMENT', '--platform is empty', 'write os/arch[/variant], e.g. linux/amd64');
  return [...out.values()];
}

export function platformOption(text: string | undefined): Platform | undefined {
  return platformsOption(text)?.[0];
}

export interface BuildFlags {
  file?: string; tag: string[]; target?: string; buildArg: string[]; platform?: string; root: string; debug?: boolean;
  push?: boolean; output: string[]; progress: ProgressMode;
  /** commander reads `--no-cache` as the negation of `cache` and `--no-cache-filter X` as `cacheFilter`. */
  cache: boolean; cacheFilter: string[];
  metadataFile?: string; iidfile?: string; cacheTo: string[]; cacheFrom: string[]; label: string[]; secret: string[]; quiet?: boolean; allow: string[]; report?: string; attachReport?: boolean;
  pull?: boolean; load?: boolean; buildContext: string[]; annotation: string[]; provenance?: string; sbom?: string; attest: string[];
  network?: string; addHost: string[]; shmSize?: string; ulimit: string[]; ssh: string[]; check?: boolean; call?: string;
  explainAgainst?: string; dryRun?: boolean;
  insecureRegistry: string[];
}

/** `--progress` when the flag is absent: `$BUILDKIT_PROGRESS` (as buildx reads it) when it names a mode, else auto. */
export function defaultProgress(env: NodeJS.ProcessEnv = process.env): ProgressMode {
  const v = env.BUILDKIT_PROGRESS;
  return v === 'plain' || v === 'tty' || v === 'rawjson' || v === 'quiet' || v === 'auto' || v === 'tsbuild-json' ? v : 'auto';
}

export function isJsonProgress(mode: ProgressMode): boolean {
  return mode === 'rawjson' || mode === 'tsbuild-json';
}

