/** Which package database a package was found in: the purl type and the SPDX `sourceInfo` follow from it. */
export type PackageKind = 'deb' | 'apk' | 'npm' | 'pypi';

/** One installed package, as a scanner read it from a package database inside the image. */
export interface FoundPackage {
  kind: PackageKind;
  name: string;
  version: string;
  /** The CPU architecture the database names (dpkg, apk), as it spells it (`amd64`, `x86_64`, `all`). */
  arch?: string;
  /** The declared licence text, as the database gives it (apk `L:`, npm `license`, Python `License`). */
  license?: string;
  /** The source package (dpkg `Source:`, apk `o:`), when it differs from the name. */
  source?: string;
  /** The path, inside the image, of the file it was read from. */
  foundIn: string;
}

/** Splits RFC 822-style text (dpkg status, Python METADATA headers) into stanzas of `Field: value`, continuations joined. */
export function parseStanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let current = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) out.push(current);
      current = new Map();
      last = undefined;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last !== undefined) current.set(last, `${current.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    current.set(last, line.slice(colon + 1).trim());
  }
  if (current.size > 0) out.push(current);
  return out;
}
