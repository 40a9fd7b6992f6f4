import { formatReference, formatRepository, parseReference, type Digest, type Reference } from '../../registry/index.js';
import { formatOciLayoutRef, parseOciLayoutRef } from '../options/oci-layout-ref.js';

// Where `imagetools` reads and writes, as buildx's Location (docker/buildx util/imagetools/location.go): a registry
// repository, or a local OCI image layout named `oci-layout://DIR[:TAG][@sha256:…]` (util/ocilayout/parse.go: with
// neither a tag nor a digest, the tag is `latest`).

/** A registry reference, or a local OCI layout and the tag or digest in it. */
export type Location =
  | { kind: 'registry'; ref: Reference }
  | { kind: 'layout'; dir: string; tag?: string; digest?: Digest };

/** `text` as buildx's ParseLocation reads it. */
export function parseLocation(text: string): Location {
  if (text.startsWith('oci-layout://')) {
    const ref = parseOciLayoutRef(text);
    if (ref === undefined || ref.dir === '') throw new Error(`unreachable: ${text} is not an OCI layout reference`);
    return { kind: 'layout', dir: ref.dir, ...(ref.tag === undefined && ref.digest === undefined ? { tag: 'latest' } : ref) };
  }
  return { kind: 'registry', ref: parseReference(text) };
}

/** The location as the user writes it. */
export function formatLocation(l: Location): string {
  return l.kind === 'registry' ? formatReference(l.ref) : formatOciLayoutRef(l);
}

/** What buildx's Location.Name gives: the repository, or the layout's directory. */
export function locationName(l: Location): string {
  return l.kind === 'registry' ? formatRepository(l.ref) : l.dir;
}

/** The same repository or layout, at `digest` (its tag dropped, as buildx's WithDigest). */
export function atDigest(l: Location, digest: Digest): Location {
  return l.kind === 'registry' ? { kind: 'registry', ref: { registry: l.ref.registry, path: l.ref.path, digest } } : { kind: 'layout', dir: l.dir, digest };
}

/** The digest the location names, if any. */
export function digestOf(l: Location): Digest | undefined {
  return l.kind === 'registry' ? l.ref.digest : l.digest;
}

/** True when both name the same repository, or the same layout. */
export function sameRepository(a: Location, b: Location): boolean {
  if (a.kind === 'registry' && b.kind === 'registry') return a.ref.registry === b.ref.registry && a.ref.path === b.ref.path;
  return a.kind === 'layout' && b.kind === 'layout' && a.dir === b.dir;
}
