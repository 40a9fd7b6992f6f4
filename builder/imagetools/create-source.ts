import { isDigest, parsePlatform, type Descriptor } from '../../registry/index.js';
import { UserError } from '../../common/index.js';
import { atDigest, locationName, parseLocation, type Location } from './location.js';

// What `imagetools create` reads: each source as buildx's parseSource takes it (docker/buildx
// commands/imagetools/create.go): a digest, a reference, or an OCI descriptor as JSON (what `--file` holds). A source
// without a repository of its own is read from the one repository the command names (runCreate's defaultRepo).

/**
 * One source of `create`: where its manifest is read (`ref`), and, for a descriptor source, the descriptor as given
 * (its annotations, platform and artifactType are what the new index lists).
 */
export interface CreateSource { ref: Location; given?: Partial<Descriptor> & { digest: Descriptor['digest'] } }

type Parsed = { ref: Location } | { given: Partial<Descriptor> & { digest: Descriptor['digest'] } };

/** A source as written: `sha256:…`, a reference, or a descriptor's JSON (`{"mediaType":…,"digest":…,"size":…}`). */
function parseSource(text: string): Parsed {
  if (isDigest(text)) return { given: { digest: text } };
  const bad = (why: string): UserError => new UserError('INVALID_ARGUMENT', `failed to parse source ${JSON.stringify(text)}, valid sources are digests, references and descriptors: ${why}`,
    'write REPO[:TAG], REPO@sha256:…, sha256:… or a descriptor\'s JSON');
  if (text.startsWith('sha256')) throw bad('not a sha256 digest');
  if (!text.trimStart().startsWith('{')) return { ref: parseLocation(text) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not a JSON object');
  const d = parsed as Record<string, unknown>;
  // buildx's validateDescriptor: a manifest or index pasted in place of its descriptor is refused.
  if (typeof d['schemaVersion'] === 'number' && d['schemaVersion'] !== 0) throw bad(`expected an OCI content descriptor, got a manifest or index (schemaVersion ${d['schemaVersion']})`);
  if (!isDigest(d['digest'])) throw bad('invalid descriptor: a sha256 digest is required');
  const given: Partial<Descriptor> & { digest: Descriptor['digest'] } = { digest: d['digest'] };
  if (typeof d['mediaType'] === 'string' && d['mediaType'] !== '') given.mediaType = d['mediaType'];
  if (typeof d['size'] === 'number') given.size = d['size'];
  if (typeof d['artifactType'] === 'string' && d['artifactType'] !== '') given.artifactType = d['artifactType'];
  if (isStringMap(d['annotations'])) given.annotations = d['annotations'];
  const p = d['platform'];
  if (typeof p === 'object' && p !== null) {
    const { os, architecture, variant } = p as Record<string, unknown>;
    if (typeof os === 'string' && typeof architecture === 'string') given.platform = parsePlatform(`${os}/${architecture}${typeof variant === 'string' && variant ? `/${variant}` : ''}`) ?? { os, architecture };
  }
  return { given };
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/**
 * The sources of `create`, each with the repository it is read from. As buildx's runCreate: a digest or descriptor is
 * read from the only repository named by the tags and the other sources (a source's first, else the first tag's); a
 * bare digest (or a descriptor without a media type) by digest there, a descriptor under that repository's tag.
 */
export function createSources(texts: string[], tags: Location[]): CreateSource[] {
  const parsed = texts.map(parseSource);
  const repos = new Set([...tags, ...parsed.flatMap((p) => ('ref' in p ? [p.ref] : []))].map(locationName));
  if (repos.size === 0) throw new UserError('INVALID_ARGUMENT', 'no repositories specified, please set a reference in tag or source', 'add -t registry/repository:tag');
  const named = parsed.find((p): p is { ref: Location } => 'ref' in p)?.ref ?? tags[0];
  const defaultRepo = repos.size === 1 ? named : undefined;
  return parsed.map((p, i) => {
    if ('ref' in p) return { ref: p.ref };
    if (defaultRepo === undefined) {
      throw new UserError('INVALID_ARGUMENT', `multiple repositories specified, cannot infer repository for ${JSON.stringify(texts[i])}`, 'write the source as registry/repository@sha256:…');
    }
    // Either way the manifest is read by the descriptor's digest; the location only says where.
    return { ref: atDigest(defaultRepo, p.given.digest), given: p.given };
  });
}
