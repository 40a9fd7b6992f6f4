import { isDigest, type Descriptor, type Digest } from '../../registry/index.js';
import type { Location } from './location.js';
import type { LocationStore } from './location-store.js';
import type { FetchedManifest } from '../../registry/index.js';
import { isIndexMediaType, isManifestMediaType } from '../../registry/oci/index.js';
import { REFERENCE_DIGEST_ANNOTATION } from '../attest/attach.js';
import { SPDX_PREDICATE_TYPE } from '../attest/spdx.js';
import { TemplateError, executeTemplate, type Template } from './go-template.js';
import { GoMap, GoNil, GoStruct, fromJsonAny, type GoValue } from './go-value.js';
import { asObject, descriptorValue, imageValue, indexManifestValue, provenanceStub, sbomStub } from './inspect-values.js';
import { inspectText } from './inspect-text.js';

/** An in-toto statement blob is a document: read whole, but never more than this. */
const MAX_STATEMENT_BYTES = 64 * 1024 * 1024;
const REFERENCE_ANNOTATIONS = ['com.docker.reference.digest', REFERENCE_DIGEST_ANNOTATION];

type Json = Record<string, unknown>;

/** containerd's platforms.Normalize + Format: `linux/arm64` (no v8), `linux/arm/v7`, `linux/amd64`. */
function platformKey(p: Json): string {
  const os = String(p.os ?? '').toLowerCase();
  let arch = String(p.architecture ?? '').toLowerCase();
  let variant = String(p.variant ?? '');
  if (arch === 'aarch64' || arch === 'arm64') [arch, variant] = ['arm64', ['8', 'v8', 'v8.0'].includes(variant) ? '' : variant];
  else if (arch === 'x86_64' || arch === 'x86-64' || arch === 'amd64') [arch, variant] = ['amd64', variant === 'v1' ? '' : variant];
  else if (arch === 'i386') arch = '386';
  else if (arch === 'armhf') [arch, variant] = ['arm', 'v7'];
  else if (arch === 'armel') [arch, variant] = ['arm', 'v6'];
  else if (arch === 'arm' && ['', '7'].includes(variant)) variant = 'v7';
  else if (arch === 'arm' && ['5', '6', '8'].includes(variant)) variant = `v${variant}`;
  return [os, arch, variant].filter(Boolean).join('/');
}

/**
 * What buildx's loader finds under a reference, fetched only as a template asks: the platforms come from the index's
 * descriptors (a config is read only for one without a platform); manifests, configs and attestations on first use.
 */
class Loaded {
  readonly images = new Map<string, Digest>();
  readonly #refs = new Map<string, Digest[]>();
  readonly #documents = new Map<string, Promise<Json>>();
  constructor(readonly store: LocationStore, readonly at: Location) {}

  document(digest: Digest): Promise<Json> {
    let found = this.#documents.get(digest);
    if (!found) {
      found = this.store.getManifest(this.at, digest).then((f) => asObject(JSON.parse(Buffer.from(f.bytes).toString('utf8'))) ?? {});
      this.#documents.set(digest, found);
    }
    return found;
  }

  async blob(desc: Json, limit?: number): Promise<unknown> {
    const d = blobDescriptor(desc);
    if (limit === undefined) return JSON.parse(Buffer.from(await this.store.readBlob(this.at, d)).toString('utf8'));
    if (d.size > limit) throw new Error(`attestation ${d.digest} is ${d.size} bytes, over the ${limit} byte limit`);
    // Not readBlob: its 4 MiB cap is for configs, and an SBOM of a large image is bigger; fetchBlob verifies as it streams.
    const chunks: Buffer[] = [];
    for await (const chunk of await this.store.fetchBlob(this.at, d)) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }

  /** Walks an index as buildx's loader.fetch does: attestation manifests by their reference annotation, images by platform. */
  async walk(desc: Json, bytes?: Uint8Array): Promise<void> {
    const mediaType = String(desc.mediaType ?? '');
    const digest = desc.digest;
    if (!isDigest(digest)) return;
    if (isIndexMediaType(mediaType)) {
      const index = bytes ? asObject(JSON.parse(Buffer.from(bytes).toString('utf8'))) ?? {} : await this.document(digest);
      const children = Array.isArray(index.manifests) ? index.manifests : [];
      await Promise.all(children.map((c) => this.walk(asObject(c) ?? {})));
      return;
    }
    if (!isManifestMediaType(mediaType)) return;
    const annotations = asObject(desc.annotations) ?? {};
    const subject = REFERENCE_ANNOTATIONS.map((a) => annotations[a]).find((v) => typeof v === 'string');
    if (isDigest(subject)) {
      this.#refs.set(subject, [...(this.#refs.get(subject) ?? []), digest]);
      return;
    }
    let platform = asObject(desc.platform);
    if (!platform) platform = asObject(await this.blob(asObject((await this.document(digest)).config) ?? {})) ?? {};
    this.images.set(platformKey(platform), digest);
  }

  async config(image: Digest): Promise<GoValue> {
    return imageValue(asObject(await this.blob(asObject((await this.document(image)).config) ?? {})) ?? {});
  }

  /** The predicates of the image's attestation layers whose predicate type `matches`, in order. */
  async predicates(image: Digest, matches: (type: string) => boolean, firstPerManifest: boolean): Promise<GoValue[]> {
    const out: GoValue[] = [];
    for (const att of this.#refs.get(image) ?? []) {
      const layers = (await this.document(att)).layers;
      for (const layer of Array.isArray(layers) ? layers.map((l) => asObject(l) ?? {}) : []) {
        const type = asObject(layer.annotations)?.['in-toto.io/predicate-type'];
        const mediaType = String(layer.mediaType ?? '');
        const isDsse = /^application\/vnd\.in-toto\..*\+dsse$/.test(mediaType);
        if ((mediaType !== 'application/vnd.in-toto+json' && !isDsse) || typeof type !== 'string' || !matches(type)) continue;
        let statement = asObject(await this.blob(layer, MAX_STATEMENT_BYTES)) ?? {};
        if (isDsse) statement = asObject(JSON.parse(Buffer.from(String(statement.payload ?? ''), 'base64').toString('utf8'))) ?? {};
        out.push(fromJsonAny(statement.predicate));
        if (firstPerManifest) break;
      }
    }
    return out;
  }

  /** buildx's provenanceStub for one image, or undefined without one (the last attestation manifest's wins). */
  async provenance(image: Digest): Promise<GoValue> {
    const found = await this.predicates(image, (t) => t.startsWith('https://slsa.dev/provenance/'), true);
    return found.length > 0 ? provenanceStub(found.at(-1) ?? null) : undefined;
  }

  async sbom(image: Digest): Promise<GoValue> {
    if (!this.#refs.has(image)) return undefined;
    const found = await this.predicates(image, (t) => t === SPDX_PREDICATE_TYPE, false);
    return found.length > 0 ? sbomStub(found) : undefined;
  }
}

function blobDescriptor(desc: Json): Descriptor {
  const digest = desc.digest;
  if (!isDigest(digest) || typeof desc.size !== 'number') throw new Error(`descriptor without a digest and size: ${JSON.stringify(desc)}`);
  return { mediaType: String(desc.mediaType ?? ''), digest, size: desc.size };
}

/** buildx's isWholeManifestTemplate: `{{.Manifest}}` alone (spaces around it allowed) prints the text form. */
function isWholeManifest(template: Template): boolean {
  const actions = template.root.filter((n) => n.kind !== 'text');
  const onlySpace = template.root.every((n) => n.kind !== 'text' || n.text.trim() === '');
  const [action] = actions;
  if (!onlySpace || actions.length !== 1 || action?.kind !== 'action' || action.pipe.decl.length > 0) return false;
  const [cmd] = action.pipe.cmds;
  const [arg] = cmd?.args ?? [];
  return action.pipe.cmds.length === 1 && cmd?.args.length === 1 && arg?.kind === 'field' && arg.names.join('.') === 'Manifest';
}

const lazy = <T>(get: () => Promise<T>): (() => Promise<T>) => {
  let memo: Promise<T> | undefined;
  return () => (memo ??= get());
};

/**
 * `imagetools inspect --format TEMPLATE` as buildx's Printer.Print: the template runs over `{Name, Manifest, Image}`
 * with the methods `Provenance` and `SBOM` (tplInput), or, for several platforms, with `Image`, `Provenance` and
 * `SBOM` maps keyed by platform (tplInputs). `name` is the reference as the user wrote it.
 */
export async function inspectFormatted(store: LocationStore, at: Location, name: string, fetched: FetchedManifest, template: Template): Promise<string> {
  if (isWholeManifest(template)) return inspectText(at, fetched.descriptor, fetched.document);
  const loaded = new Loaded(store, at);
  const root = { mediaType: fetched.descriptor.mediaType, digest: fetched.descriptor.digest, size: fetched.descriptor.size };
  let manifest: GoValue;
  if (fetched.document.kind === 'index') {
    await loaded.walk(root, fetched.bytes);
    manifest = indexManifestValue(asObject(JSON.parse(Buffer.from(fetched.bytes).toString('utf8'))) ?? {}, root.digest, root.size);
  } else {
    loaded.images.set('', root.digest);   // one image: its platform is never a key, so its config need not be read for it
    manifest = descriptorValue(root);
  }
  const platforms = [...loaded.images.keys()].sort();
  const several = platforms.length > 1;
  // tplInputs: a map by platform of what was found (`zero` is what `index` gives for another key); tplInput: the one
  // image's, or the zero value (a nil *Image, an empty stub) when there is none.
  const byPlatform = (get: (image: Digest) => Promise<GoValue>, zero: GoValue) => lazy(async (): Promise<GoValue> => {
    const entries = new Map<string, GoValue>();
    for (const p of platforms) {
      const value = await get(loaded.images.get(p) as Digest);
      if (value !== undefined) entries.set(p, value);
    }
    return several ? new GoMap(entries, zero) : ([...entries.values()][0] ?? zero);
  });
  const data = new GoStruct(several ? 'imagetools.tplInputs' : 'imagetools.tplInput', [
    { name: 'Name', json: 'name', omitEmpty: true, value: name },
    { name: 'Manifest', json: 'manifest', omitEmpty: true, value: manifest },
    { name: 'Image', json: 'image', omitEmpty: true, value: byPlatform((d) => loaded.config(d), new GoNil('pointer', '*v1.Image')) },
    { name: 'Provenance', value: byPlatform((d) => loaded.provenance(d), provenanceStub(null)) },
    { name: 'SBOM', value: byPlatform((d) => loaded.sbom(d), sbomStub([])) },
  ]);
  try {
    return await executeTemplate(template, data);
  } catch (err) {
    // buildx's tpl.Execute(out, …) has written what came before the failure to stdout; so do we.
    if (err instanceof TemplateError) process.stdout.write(err.output);
    throw err;
  }
}
