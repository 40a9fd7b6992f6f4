import { isDigest, type Digest } from './oci/digest.js';
import { UserError } from '../common/index.js';

/** A repository on a registry: `registry` is the domain as written (`docker.io`, `localhost:5000`), `path` the name. */
export interface Repository {
  registry: string;
  path: string;
}

/** An image reference: a repository plus a tag, a digest or both (the digest wins when fetching). */
export interface Reference extends Repository {
  tag?: string;
  digest?: Digest;
}

/** Docker Hub's canonical domain, the one `busybox` normalizes to. */
export const DOCKER_HUB = 'docker.io';

// Grammar from distribution/reference (reference.go): path components, tags, domains.
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_RE = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const MAX_NAME = 255;

function invalid(text: string, why: string, hint?: string): UserError {
  return new UserError(
    'INVALID_REFERENCE',
    `invalid image reference ${JSON.stringify(text)}: ${why}`,
    hint ?? 'write it as [registry/]repository[:tag][@sha256:digest], e.g. busybox, localhost:5000/app:1',
  );
}

/**
 * Parses an image reference with docker's normalization: `busybox` → docker.io/library/busybox:latest,
 * `localhost:5000/app:1`, `host/repo@sha256:…`, tag and digest together. Throws UserError INVALID_REFERENCE.
 */
export function parseReference(text: string): Reference {
  if (text === '') throw invalid(text, 'it is empty');
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(text, `${JSON.stringify(d)} is not a sha256 digest`, 'a digest is sha256: followed by 64 lowercase hex digits');
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(text, `tag ${JSON.stringify(tag)} is not valid`, 'tags are up to 128 letters, digits, _, . and -, not starting with . or -');
  }
  const { registry, path } = splitDomain(text, rest);
  if (path.length > MAX_NAME) throw invalid(text, `repository name is longer than ${MAX_NAME} characters`);
  for (const component of path.split('/')) {
    if (component !== component.toLowerCase()) throw invalid(text, 'repository name must be lowercase');
    if (!COMPONENT_RE.test(component)) throw invalid(text, `path component ${JSON.stringify(component)} is not valid`);
  }
  const ref: Reference = { registry, path };
  if (tag === undefined && digest === undefined) tag = 'latest';
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function splitDomain(text: string, name: string): Repository {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  // docker: the first component is a domain when it has a dot or a port, is localhost, or has uppercase letters.
  const isDomain = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  if (!isDomain) {
    if (name === '') throw invalid(text, 'repository name is empty');
    return { registry: DOCKER_HUB, path: slash < 0 ? `library/${name}` : name };
  }
  if (!DOMAIN_RE.test(first)) throw invalid(text, `registry ${JSON.stringify(first)} is not a valid host[:port]`);
  const path = name.slice(slash + 1);
  if (path === '') throw invalid(text, 'repository name is empty');
  const registry = first === 'index.docker.io' ? DOCKER_HUB : first;
  return { registry, path: registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path };
}

/** The full name of a repository: `docker.io/library/busybox`. */
export function formatRepository(repo: Repository): string {
  return `${repo.registry}/${repo.path}`;
}

/** The full reference as text: `docker.io/library/busybox:latest`, `host/app:1@sha256:…`. */
export function formatReference(ref: Reference): string {
  return `${formatRepository(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The host[:port] the distribution API is served on for a registry domain (Docker Hub's differs from its name). */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** A reference to the same repository pinned to `digest` (tag dropped). */
export function withDigest(repo: Repository, digest: Digest): Reference {
  return { registry: repo.registry, path: repo.path, digest };
}
