// SLSA provenance v0.2 as BuildKit makes it: from its v1 predicate, field for field. BuildKit builds every
// provenance as v1 and converts it when `version=v0.2` is asked for (solver/llbsolver/provenance.go
// ProvenanceCreator.Predicate → provenance/types ConvertToSLSA02), and buildx converts the build record's v1
// predicate the same way for `--metadata-file` (build/provenance.go encodeProvenance). One conversion serves both
// here too, so the two versions can never say different things about one build.

/** A resolved dependency (v1) / material (v0.2). */
export interface Material { uri: string; digest: Record<string, string> }

/** Where a step's instruction is: BuildKit's pb.Locations as encoding/json writes it (zero fields left out). */
export interface StepLocations { locations: { ranges: { start: { line: number }; end: { line: number } }[] }[] }

/**
 * `buildkit_metadata` (v1) / `https://mobyproject.org/buildkit@v1#metadata` (v0.2): what tsbuild knows of it. `source`
 * (max only) is BuildKit's provenance/types Source: each step's place in the Dockerfile, and the Dockerfile itself.
 */
export interface BuildkitMetadata {
  vcs?: Record<string, string>;
  source?: { locations?: Record<string, StepLocations>; infos: { filename: string; language: string; data: string }[] };
  /** `max`: each step's result as its chain of layers, by `STEP:0` (BuildKit's `layers`, one chain per step). */
  layers?: Record<string, LayerDescriptor[][]>;
}

/** A layer as `layers` lists it: the descriptor, without annotations. */
export interface LayerDescriptor { mediaType: string; digest: string; size: number }

/** tsbuild's own metadata (max only): its build id and what the cache answered. */
export interface TsbuildMetadata { buildId: string; steps: number; cached: number }

/** The SLSA v1 predicate as BuildKit writes it (provenance/types ProvenancePredicateSLSA1), with tsbuild's step list. */
export interface PredicateV1 {
  buildDefinition: {
    buildType: string;
    resolvedDependencies?: Material[];
    externalParameters: { configSource: { uri?: string; digest?: Record<string, string>; path: string }; request: Record<string, unknown> };
    internalParameters: { buildConfig?: unknown; builderPlatform: string };
  };
  runDetails: {
    builder: { id: string };
    metadata: {
      invocationId?: string; startedOn?: string; finishedOn?: string;
      buildkit_metadata: BuildkitMetadata;
      buildkit_hermetic?: true;
      buildkit_completeness: { request: boolean; resolvedDependencies: boolean };
      buildkit_reproducible?: true;
      tsbuild_metadata?: TsbuildMetadata;
    };
  };
}

/** BuildKit's v0.2 build type (provenance/types BuildKitBuildType02). */
export const BUILD_TYPE_V02 = 'https://mobyproject.org/buildkit@v1';

/**
 * The v0.2 predicate of a v1 one, as ConvertToSLSA02: materials are the resolved dependencies, the config source's
 * `path` its `entryPoint`, the request the invocation's parameters, the builder platform its environment, and the
 * completeness flags move over (`environment` is always true). tsbuild's own metadata goes along.
 */
export function toSlsa02(p: PredicateV1): Record<string, unknown> {
  const def = p.buildDefinition;
  const meta = p.runDetails.metadata;
  const { path, ...source } = def.externalParameters.configSource;
  return {
    builder: { id: p.runDetails.builder.id },
    buildType: BUILD_TYPE_V02,
    materials: def.resolvedDependencies ?? [],
    invocation: {
      configSource: { ...source, entryPoint: path },
      parameters: def.externalParameters.request,
      environment: { platform: def.internalParameters.builderPlatform },
    },
    ...(def.internalParameters.buildConfig !== undefined ? { buildConfig: def.internalParameters.buildConfig } : {}),
    metadata: {
      ...(meta.invocationId !== undefined ? { buildInvocationID: meta.invocationId } : {}),
      ...(meta.startedOn !== undefined ? { buildStartedOn: meta.startedOn } : {}),
      ...(meta.finishedOn !== undefined ? { buildFinishedOn: meta.finishedOn } : {}),
      completeness: { parameters: meta.buildkit_completeness.request, environment: true, materials: meta.buildkit_completeness.resolvedDependencies },
      reproducible: meta.buildkit_reproducible === true,
      // These two as tsbuild's v0.2 has always written them, so a v0.2 reader's bytes do not move with the v1
      // default; Go's marshalling of BuildKit's struct writes `#metadata` always and leaves a false `#hermetic` out.
      ...(Object.keys(meta.buildkit_metadata).length > 0 ? { 'https://mobyproject.org/buildkit@v1#metadata': meta.buildkit_metadata } : {}),
      'https://mobyproject.org/buildkit@v1#hermetic': meta.buildkit_hermetic === true,
      ...(meta.tsbuild_metadata ? { tsbuild_metadata: meta.tsbuild_metadata } : {}),
    },
  };
}
