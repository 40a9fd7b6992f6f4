import { formatPlatform, formatReference, type Descriptor, type ManifestDocument } from '../../registry/index.js';
import { formatLocation, type Location } from './location.js';
import { tabWrite } from '../tab-writer.js';

/** buildx's writers here: tabwriter.NewWriter(out, 0, 0, 1, ' ', 0). */
const INSPECT = { minwidth: 0, padding: 1 };
const PFX = '  ';

/** Lines of `label\tvalue` as one tabwriter block, flushed: buildx flushes where a new alignment starts. */
const block = (rows: Array<[string, string]>): string => `${tabWrite(rows.map(([label, value]) => `${label}\t${value}`).join('\n'), INSPECT)}\n`;

/**
 * `imagetools inspect` as buildx prints it (util/imagetools/printers.go): Name, MediaType, Digest, and for an index
 * its Manifests with each one's Name (`repo@digest`), MediaType, Platform and Annotations. The labels are aligned by
 * Go's tabwriter over each run of lines buildx writes between two flushes: the manifests up to one with annotations,
 * whose `Annotations:` ends the run; the annotations (`key:` and value, keys sorted: Go ranges over a map) align on
 * their own.
 */
export function inspectText(at: Location, descriptor: Descriptor, document: ManifestDocument): string {
  let out = block([['Name:', formatLocation(at)], ['MediaType:', document.mediaType], ['Digest:', descriptor.digest]]);
  if (document.kind !== 'index') return out;
  out += block([['', ''], ['Manifests:', '']]);
  const repo = at.kind === 'registry' ? formatReference({ registry: at.ref.registry, path: at.ref.path }) : `oci-layout://${at.dir}`;
  let rows: Array<[string, string]> = [];
  document.index.manifests.forEach((m, i) => {
    if (i > 0) rows.push(['', '']);
    rows.push([`${PFX}Name:`, `${repo}@${m.digest}`], [`${PFX}MediaType:`, m.mediaType]);
    if (m.platform) rows.push([`${PFX}Platform:`, formatPlatform(m.platform)]);
    const annotations = Object.entries(m.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (annotations.length > 0) {
      rows.push([`${PFX}Annotations:`, '']);
      out += block(rows);
      rows = [];
      out += block(annotations.map(([k, v]) => [`${PFX}${PFX}${k}:`, v]));
    }
  });
  if (rows.length > 0) out += block(rows);
  return out;
}
