import { parseDockerfile, sourceDateEpochRequest, withSource } from '../frontend/index.js';
import { hostPlatform, type Platform } from '../registry/index.js';

// SOURCE_DATE_EPOCH resolved as BuildKit's Dockerfile frontend resolves it before it converts (dockerfile2llb
// convert.go, epoch.go): the frontend reads what the build arg or the Dockerfile's global ARG asks for
// (sourceDateEpochRequest); this finds the time of the source it names. The epoch then dates the image and its
// history, clamps the layers (rewrite-timestamp) and the provenance, and SOURCE_DATE_EPOCH reads as that number in
// the Dockerfile (unset when the source has no time: a local context or named context, an image).

/** The build's epoch (undefined: none) and the value the Dockerfile's SOURCE_DATE_EPOCH then has, when it had one. */
export interface BuildEpoch { epoch?: number; arg?: string }

/** What the sources a non-numeric SOURCE_DATE_EPOCH may name have as their time (remote-context.ts finds them). */
export interface EpochSourceTimes {
  /** The build context's: a git context's commit, an http(s) one's Last-Modified or archive time; none for a local one. */
  context?: number | undefined;
  /** Each `--build-context` by name, with the time of a remote one. */
  named: Record<string, number | undefined>;
  /** The time of the URL a SOURCE_DATE_EPOCH stage ADDs (fetched only then), `checksum` as --checksum gives it. */
  source(url: string, checksum: string | undefined): Promise<number | undefined>;
}

/**
 * The epoch of a build of `dockerfile` with `buildArgs` (SOURCE_DATE_EPOCH from the environment already folded in,
 * as buildx does). Throws BuildKit's errors for a word that names nothing and for a stage that does more than fetch
 * one source, located in the Dockerfile.
 */
export async function resolveBuildEpoch(
  dockerfile: { path: string; text: string }, opts: { buildArgs: Record<string, string>; platform?: Platform; target?: string; times: EpochSourceTimes },
): Promise<BuildEpoch> {
  // Nearly every build: nothing asks for an epoch (no build arg, and the Dockerfile names no such ARG), and the
  // Dockerfile is not parsed for it once more before the build reads it.
  if (!Object.hasOwn(opts.buildArgs, 'SOURCE_DATE_EPOCH') && !dockerfile.text.includes('SOURCE_DATE_EPOCH')) return {};
  // A Dockerfile that does not parse is the build's to report, with what its checks found before the error.
  try {
    parseDockerfile(dockerfile.text, dockerfile.path);
  } catch {
    return {};
  }
  let request: ReturnType<typeof sourceDateEpochRequest>;
  try {
    request = sourceDateEpochRequest(dockerfile.text, dockerfile.path, {
      buildArgs: opts.buildArgs, buildPlatform: hostPlatform(), platform: opts.platform ?? hostPlatform(), ...(opts.target ? { target: opts.target } : {}),
      namedContexts: Object.keys(opts.times.named),
    });
  } catch (err) {
    throw withSource(err, { file: dockerfile.path, text: dockerfile.text });
  }
  if (request === undefined) return {};
  let epoch: number | undefined;
  switch (request.source.kind) {
    case 'seconds': epoch = request.source.seconds; break;
    case 'context': epoch = opts.times.context; break;
    case 'named': epoch = opts.times.named[request.source.name]; break;
    case 'stage': epoch = await opts.times.source(request.source.url, request.source.checksum); break;
  }
  // BuildKit deletes the argument when the source has no time; an empty value is the nearest a build arg comes.
  return { ...(epoch !== undefined ? { epoch } : {}), arg: epoch !== undefined ? String(epoch) : '' };
}
