import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  MediaType, isDigest, isIndexMediaType, listReferrers, parseManifestDocument,
  type Descriptor, type Digest, type FetchedManifest, type ImageIndex, type RegistryClient,
} from '../../registry/index.js';
import { UserError } from '../../common/index.js';
import { REFERENCE_DIGEST_ANNOTATION } from '../attest/attach.js';
import { layoutBlobPath, OciLayoutDir, RepositoryTarget, type BlobTarget } from '../content/index.js';
import { formatLocation, type Location } from './location.js';

// What `imagetools` does at a Location, registry or OCI layout, in one place: read a manifest (by tag or digest), a
// blob, the referrers of a manifest; put a manifest by digest; publish the result under its tag. For a layout these
// follow buildx (util/imagetools/inspect.go resolveOCILayout, create.go pushOCILayout, ocilayout_referrers.go) and
// BuildKit's client/ociindex (StoreIndex.Get and Put): a tag is the `org.opencontainers.image.ref.name` of an
// index.json entry; a referrer copied into a layout that no root reaches gets its own entry, annotated with
// `io.containerd.manifest.subject`, so it can be found again.

const REF_NAME = 'org.opencontainers.image.ref.name';
const IMAGE_NAME = 'io.containerd.image.name';
/** containerd's images.AnnotationManifestSubject. */
export const SUBJECT_ANNOTATION = 'io.containerd.manifest.subject';
const DOC_LIMIT = 4 * 1024 * 1024;

type LayoutLocation = Location & { kind: 'layout' };

/** Reads and writes manifests and blobs at registry and OCI layout locations. */
export class LocationStore {
  constructor(readonly client: RegistryClient) {}

  /** The manifest or index at `l` (its tag, else its digest), or the one `target` names in the same place. */
  async getManifest(l: Location, target?: Digest, signal?: AbortSignal): Promise<FetchedManifest> {
    if (l.kind === 'registry') return await this.client.getManifest(l.ref, target, signal);
    const layout = new OciLayoutDir(l.dir);
    const digest = target ?? l.digest;
    let desc: Descriptor | undefined;
    if (digest === undefined) {
      // ociindex.StoreIndex.Get: an entry named by io.containerd.image.name first, then by ref.name.
      const entries = (await layout.readIndex())?.manifests ?? [];
      desc = entries.find((m) => m.annotations?.[IMAGE_NAME] === l.tag) ?? entries.find((m) => m.annotations?.[REF_NAME] === l.tag);
      if (desc === undefined) throw new UserError('IMAGE_NOT_FOUND', `reference ${formatLocation(l)} not found`, `index.json of ${l.dir} has no image tagged "${l.tag ?? ''}"`);
    }
    const d = desc?.digest ?? digest;
    if (d === undefined) throw new Error('unreachable: no digest');
    const bytes = await this.#layoutDocument(l, d);
    const document = parseManifestDocument(bytes, desc?.mediaType, formatLocation(l));
    return { descriptor: { mediaType: document.mediaType, digest: d, size: bytes.length }, document, bytes };
  }

  /** A small blob (a config) read whole. */
  async readBlob(l: Location, desc: Descriptor, signal?: AbortSignal): Promise<Uint8Array> {
    return l.kind === 'registry' ? await this.client.readBlob(l.ref, desc, signal) : await this.#layoutDocument(l, desc.digest);
  }

  /** Any blob, streamed. */
  async fetchBlob(l: Location, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    return await this.blobs(l).fetch(desc, signal);
  }

  /** Where blobs at `l` are read and written: the registry repository, or the layout's blobs/. */
  blobs(l: Location): BlobTarget {
    return l.kind === 'registry' ? new RepositoryTarget(this.client, l.ref) : new OciLayoutDir(l.dir);
  }

  /**
   * The referrers of `subject` at `l`, of `artifactType` when given. A registry: its referrers API, else the referrers
   * tag. A layout (buildx's fetchOCILayoutReferrers): the entries annotated with the subject, and what the roots reach
   * that names it (an index entry's vnd.docker.reference.digest, a manifest's `subject`).
   */
  async referrers(l: Location, subject: Digest, artifactType?: string, signal?: AbortSignal): Promise<Descriptor[]> {
    if (l.kind === 'registry') return (await listReferrers(this.client, l.ref, subject, { ...(artifactType !== undefined ? { artifactType } : {}), ...(signal ? { signal } : {}) })).referrers;
    const entries = (await new OciLayoutDir(l.dir).readIndex())?.manifests ?? [];
    const found = new Map<Digest, Descriptor>();
    const visited = new Set<Digest>();
    const walk = async (d: Descriptor): Promise<void> => {
      if (visited.has(d.digest)) return;
      visited.add(d.digest);
      if (d.annotations?.[REFERENCE_DIGEST_ANNOTATION] === subject) found.set(d.digest, d);
      // As buildx's collectReachableOCILayoutReferrers: only OCI documents are opened.
      if (d.mediaType !== MediaType.ociIndex && d.mediaType !== MediaType.ociManifest) return;
      const doc = parseManifestDocument(await this.#layoutDocument(l, d.digest), d.mediaType, formatLocation(l));
      if (doc.kind === 'index') for (const child of doc.index.manifests) await walk(child);
      else if (doc.manifest.subject?.digest === subject) found.set(d.digest, d);
    };
    for (const e of entries) if (e.annotations?.[SUBJECT_ANNOTATION] === undefined) await walk(e);
    for (const e of entries) if (e.annotations?.[SUBJECT_ANNOTATION] === subject) found.set(e.digest, e);
    const all = [...found.values()];
    return artifactType === undefined ? all : all.filter((d) => d.artifactType === artifactType);
  }

  /** Puts a manifest by digest (a registry) or as a blob (a layout), leaving tags and index.json alone. */
  async putManifest(l: Location, desc: Descriptor, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (l.kind === 'registry') {
      await this.client.putManifest({ registry: l.ref.registry, path: l.ref.path, digest: desc.digest }, desc.mediaType, bytes, signal);
      return;
    }
    await new OciLayoutDir(l.dir).push(desc, async () => Readable.from([Buffer.from(bytes)]), signal);
  }

  /**
   * What `create` pushes last (buildx's Resolver.Push): the manifest or index under the target's tag. In a layout, its
   * index.json entry (tagged, or by digest alone when the target names the digest, which must be this one), and an
   * entry for each copied referrer no root reaches (`referrers`: subject → referrers).
   */
  async publish(l: Location, desc: Descriptor, bytes: Uint8Array, referrers: Map<Digest, Descriptor[]>, signal?: AbortSignal): Promise<void> {
    if (l.kind === 'registry') {
      await this.client.putManifest(l.ref.tag !== undefined || l.ref.digest === undefined ? l.ref : { ...l.ref, digest: desc.digest }, desc.mediaType, bytes, signal);
      return;
    }
    if (l.digest !== undefined && l.digest !== desc.digest) {
      throw new UserError('INVALID_ARGUMENT', `target ${formatLocation(l)} requested digest ${l.digest} but produced ${desc.digest}`, `write oci-layout://${l.dir}@${desc.digest}, or a tag`);
    }
    await this.putManifest(l, desc, bytes, signal);
    const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, ...(desc.annotations ? { annotations: desc.annotations } : {}) };
    const layout = new OciLayoutDir(l.dir);
    const reachable = await this.#reachable(l, [...((await layout.readIndex())?.manifests ?? []), entry]);
    await layout.updateIndex((previous) => {
      let manifests = previous?.manifests ?? [];
      if (l.digest === undefined) {
        const tag = l.tag ?? 'latest';
        // ociindex insertDesc: the entry that had this tag gives it up.
        manifests = manifests.filter((m) => m.annotations?.[REF_NAME] !== tag || m.annotations[IMAGE_NAME] !== undefined);
        manifests = [...manifests, { ...entry, annotations: { ...entry.annotations, [REF_NAME]: tag } }];
      } else manifests = [...manifests, entry];
      for (const [subject, descs] of referrers) {
        for (const r of descs) {
          if (reachable.has(r.digest)) continue;
          manifests.push({ ...r, annotations: { ...r.annotations, [SUBJECT_ANNOTATION]: r.annotations?.[SUBJECT_ANNOTATION] ?? subject } });
          reachable.add(r.digest);
        }
      }
      const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, ...previous, manifests };
      return index;
    });
  }

  /** buildx's collectReachableDigests: what the regular roots of a layout reach through indexes (not referrer entries). */
  async #reachable(l: LayoutLocation, roots: Descriptor[]): Promise<Set<Digest>> {
    const reachable = new Set<Digest>();
    const walk = async (d: Descriptor): Promise<void> => {
      if (d.annotations?.[SUBJECT_ANNOTATION] !== undefined || reachable.has(d.digest)) return;
      reachable.add(d.digest);
      if (!isIndexMediaType(d.mediaType)) return;
      const doc = parseManifestDocument(await this.#layoutDocument(l, d.digest), d.mediaType, formatLocation(l));
      if (doc.kind === 'index') for (const child of doc.index.manifests) await walk(child);
    };
    for (const r of roots) await walk(r);
    return reachable;
  }

  /** A manifest, index or config from a layout's blobs, at most 4 MiB, checked against its digest. */
  async #layoutDocument(l: LayoutLocation, digest: Digest): Promise<Buffer> {
    if (!isDigest(digest)) throw new Error(`unreachable: ${String(digest)} is not a digest`);
    const path = join(new OciLayoutDir(l.dir).dir, layoutBlobPath(digest));
    const size = await stat(path).then((s) => s.size, () => undefined);
    if (size === undefined) throw new UserError('IMAGE_NOT_FOUND', `${formatLocation(l)}: blob ${digest} not found in the layout`, `${l.dir} does not hold ${digest}; name what its index.json lists`);
    return new OciLayoutDir(l.dir).readAll({ mediaType: '', digest, size }, DOC_LIMIT, formatLocation(l));
  }
}
