import { formatPlatform, formatReference, type Descriptor, type ManifestDocument, type Reference } from '../../registry/index.js';

/**
 * `imagetools inspect` as buildx prints it: Name, MediaType, Digest, and for an index its Manifests with each one's
 * Name (`repo@digest`), MediaType and Platform, the labels padded to one column.
 */
export function inspectText(ref: Reference, descriptor: Descriptor, document: ManifestDocument): string {
  const row = (indent: string, label: string, value: string): string => `${indent}${`${label}:`.padEnd(11)}${value}\n`;
  let out = row('', 'Name', formatReference(ref)) + row('', 'MediaType', document.mediaType) + row('', 'Digest', descriptor.digest);
  if (document.kind !== 'index') return out;
  out += '           \nManifests: \n';
  const repo = formatReference({ registry: ref.registry, path: ref.path });
  document.index.manifests.forEach((m, i) => {
    if (i > 0) out += '           \n';
    out += row('  ', 'Name', `${repo}@${m.digest}`) + row('  ', 'MediaType', m.mediaType);
    if (m.platform) out += row('  ', 'Platform', formatPlatform(m.platform));
    for (const [k, v] of Object.entries(m.annotations ?? {})) out += row('  ', 'Annotation', `${k}=${v}`);
  });
  return out;
}
