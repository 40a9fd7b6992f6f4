import {
  formatPlatform, formatReference, type Descriptor, type ManifestDocument, type Reference, type RegistryClient,
} from '../../registry/index.js';
import { ATTESTATION_MANIFEST, REFERENCE_DIGEST_ANNOTATION, REFERENCE_TYPE_ANNOTATION } from '../attest/attach.js';
import { PREDICATE_TYPE_ANNOTATION } from '../attest/in-toto.js';
import { SLSA_V02, SLSA_V1 } from '../attest/provenance.js';
import { SPDX_PREDICATE_TYPE } from '../attest/spdx.js';
import { UserError } from '../../common/index.js';

/** The templates `imagetools inspect --format` understands: buildx's names, exactly these three. */
const TEMPLATES = ['{{json .}}', '{{json .Provenance}}', '{{json .SBOM}}'] as const;
type Template = (typeof TEMPLATES)[number];

/** An in-toto statement blob is a document: read whole, but never more than this. */
const MAX_STATEMENT_BYTES = 64 * 1024 * 1024;

/** `--format`'s value checked against the supported templates; anything else is refused by name. */
export function parseInspectFormat(text: string): Template {
  const normal = text.trim().replace(/\{\{\s*/g, '{{').replace(/\s*\}\}/g, '}}').replace(/\s+/g, ' ');
  const found = TEMPLATES.find((t) => t === normal);
  if (!found) {
    throw new UserError('INVALID_ARGUMENT', `imagetools inspect --format ${JSON.stringify(text)} is not supported`,
      `tsbuild understands exactly ${TEMPLATES.map((t) => `'${t}'`).join(', ')}`);
  }
  return found;
}

interface Attested { Provenance?: unknown; SBOM?: unknown }

/** The predicates of one attestation manifest: `{ SLSA: … }` and `{ SPDX: … }`, as buildx shows them. */
async function predicatesOf(client: RegistryClient, ref: Reference, desc: Descriptor): Promise<Attested> {
  const fetched = await client.getManifest(ref, desc);
  if (fetched.document.kind !== 'manifest') return {};
  const out: Attested = {};
  const spdx: unknown[] = [];
  for (const layer of fetched.document.manifest.layers) {
    const type = layer.annotations?.[PREDICATE_TYPE_ANNOTATION];
    if (type !== SLSA_V02 && type !== SLSA_V1 && type !== SPDX_PREDICATE_TYPE) continue;
    if (layer.size > MAX_STATEMENT_BYTES) throw new Error(`attestation ${layer.digest} is ${layer.size} bytes, over the ${MAX_STATEMENT_BYTES} byte limit`);
    // Not readBlob: its 4 MiB cap is for configs, and an SBOM of a large image is bigger. The size was checked above
    // and fetchBlob verifies size and digest as it streams.
    const chunks: Buffer[] = [];
    for await (const chunk of await client.fetchBlob(ref, layer)) chunks.push(chunk as Buffer);
    const statement = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { predicate?: unknown };
    if (type === SPDX_PREDICATE_TYPE) spdx.push(statement.predicate);
    else out.Provenance = { SLSA: statement.predicate };
  }
  // The image's own SBOM comes first; scan-stage adds one per stage, which buildx lists under additional keys.
  if (spdx.length > 0) out.SBOM = { SPDX: spdx[0], ...(spdx.length > 1 ? { AdditionalSPDXs: spdx.slice(1) } : {}) };
  return out;
}

/**
 * `imagetools inspect --format` output. For one platform image (or an index with one), `.Provenance` is
 * `{ "SLSA": predicate }` and `.SBOM` `{ "SPDX": document }`; for several platforms both are maps keyed by platform,
 * as buildx prints them. `{{json .}}` is `{ name, manifest, Provenance?, SBOM? }`.
 */
export async function inspectFormatted(client: RegistryClient, ref: Reference, document: ManifestDocument, template: Template): Promise<string> {
  const perPlatform = new Map<string, Attested>();
  if (document.kind === 'index') {
    const images = document.index.manifests.filter((m) => m.annotations?.[REFERENCE_TYPE_ANNOTATION] !== ATTESTATION_MANIFEST);
    for (const att of document.index.manifests) {
      if (att.annotations?.[REFERENCE_TYPE_ANNOTATION] !== ATTESTATION_MANIFEST) continue;
      const image = images.find((m) => m.digest === att.annotations?.[REFERENCE_DIGEST_ANNOTATION]);
      perPlatform.set(image?.platform ? formatPlatform(image.platform) : (image?.digest ?? 'unknown'), await predicatesOf(client, ref, att));
    }
  }
  const pick = (key: keyof Attested): unknown => {
    const entries = [...perPlatform].filter(([, a]) => a[key] !== undefined);
    if (entries.length === 0) return undefined;
    if (perPlatform.size === 1) return entries[0]?.[1][key];
    return Object.fromEntries(entries.map(([p, a]) => [p, a[key]]));
  };
  const value = template === '{{json .Provenance}}' ? pick('Provenance') : template === '{{json .SBOM}}' ? pick('SBOM') : {
    name: formatReference(ref),
    manifest: document.kind === 'index' ? document.index : document.manifest,
    ...(pick('Provenance') !== undefined ? { Provenance: pick('Provenance') } : {}),
    ...(pick('SBOM') !== undefined ? { SBOM: pick('SBOM') } : {}),
  };
  return `${JSON.stringify(value ?? null, null, 2)}\n`;
}
