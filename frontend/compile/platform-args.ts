import { formatPlatform, formatPlatformAll } from '../../registry/oci/index.js';
import type { Platform } from '../../registry/oci/index.js';
import type { Dockerfile } from '../ast.js';

/** The names of the ARGs every Dockerfile has in its global scope without declaring them (automaticArgs). */
export const AUTOMATIC_ARG_NAMES: readonly string[] = [
  'BUILDPLATFORM', 'BUILDOS', 'BUILDOSVERSION', 'BUILDARCH', 'BUILDVARIANT',
  'TARGETPLATFORM', 'TARGETOS', 'TARGETOSVERSION', 'TARGETARCH', 'TARGETVARIANT', 'TARGETSTAGE',
];

/**
 * The automatic ARGs in the global scope of every Dockerfile, as BuildKit's defaultArgs (dockerfile2llb platform.go)
 * sets them: the build and target platforms, and TARGETSTAGE, the stage being built. A `--build-arg` of the same
 * name replaces one even when no ARG line declares it. A stage still sees them only once it declares them (`ARG
 * TARGETARCH`).
 */
export function automaticArgs(target: Platform, build: Platform, targetStage: string, buildArgs: Record<string, string>): Map<string, string> {
  const values: Record<string, string> = {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDOSVERSION: build['os.version'] ?? '',
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
    TARGETPLATFORM: formatPlatformAll(target),   // with the OS version, as BuildKit's defaultArgs (platforms.FormatAll)
    TARGETOS: target.os,
    TARGETOSVERSION: target['os.version'] ?? '',
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    TARGETSTAGE: targetStage,
  };
  return new Map(AUTOMATIC_ARG_NAMES.map((name) => [name, Object.hasOwn(buildArgs, name) ? (buildArgs[name] ?? '') : (values[name] ?? '')]));
}

/** TARGETSTAGE's value: `--target`, else the last stage's name, else `default` (BuildKit's Dockerfile2LLB). */
export function targetStageName(df: Dockerfile, target: string | undefined): string {
  if (target !== undefined && target !== '') return target;
  const last = df.instructions.findLast((i) => i.keyword === 'FROM');
  const name = last?.args.length === 3 ? last.args[2]?.toLowerCase() : undefined;
  return name ?? 'default';
}
