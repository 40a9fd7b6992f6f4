import { canonicalJson, sha256 } from '../../registry/oci/index.js';
import type { FoundPackage } from './sbom/package.js';
import type { Distro } from './sbom/scan.js';

// SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/), only the fields tsbuild fills. The types are written here:
// the npm packages that carry SPDX shapes are whole toolkits (parsers, validators, license lists) where we need ten
// interfaces' worth of JSON.

/** An external reference of a package: its purl (SPDX 2.3 annex F). */
export interface SpdxExternalRef { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }

/** One package of the document (SPDX 2.3 clause 7). */
export interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo: string;
  downloadLocation: 'NOASSERTION';
  filesAnalyzed: false;
  licenseConcluded: 'NOASSERTION';
  licenseDeclared: string;
  sourceInfo: string;
  externalRefs: SpdxExternalRef[];
}

/** A relationship between two elements (SPDX 2.3 clause 11). */
export interface SpdxRelationship { spdxElementId: string; relationshipType: 'DESCRIBES'; relatedSpdxElement: string }

/** An SPDX 2.3 document, as the `predicate` of an in-toto statement with predicateType `https://spdx.dev/Document`. */
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

/** The predicate type of an SPDX document in an in-toto statement, as BuildKit writes it. */
export const SPDX_PREDICATE_TYPE = 'https://spdx.dev/Document';

/** purl-spec percent-encoding of one name segment (`@` of an npm scope included). */
function purlSegment(s: string): string {
  return encodeURIComponent(s);
}

/** The package URL (https://github.com/package-url/purl-spec) of a found package. */
export function purlOf(p: FoundPackage, distro?: Distro): string {
  const qualifiers: string[] = [];
  if (p.arch) qualifiers.push(`arch=${purlSegment(p.arch)}`);
  if (distro && (p.kind === 'deb' || p.kind === 'apk')) qualifiers.push(`distro=${purlSegment(`${distro.id}${distro.versionId ? `-${distro.versionId}` : ''}`)}`);
  if (p.source) qualifiers.push(`upstream=${purlSegment(p.source)}`);
  const q = qualifiers.length ? `?${qualifiers.join('&')}` : '';
  const version = `@${purlSegment(p.version)}`;
  switch (p.kind) {
    case 'deb': return `pkg:deb/${purlSegment(distro?.id ?? 'debian')}/${purlSegment(p.name)}${version}${q}`;
    case 'apk': return `pkg:apk/${purlSegment(distro?.id ?? 'alpine')}/${purlSegment(p.name)}${version}${q}`;
    case 'npm': {
      const slash = p.name.startsWith('@') ? p.name.indexOf('/') : -1;
      const name = slash > 0 ? `${purlSegment(p.name.slice(0, slash))}/${purlSegment(p.name.slice(slash + 1))}` : purlSegment(p.name);
      return `pkg:npm/${name}${version}${q}`;
    }
    case 'pypi': return `pkg:pypi/${purlSegment(p.name.toLowerCase().replace(/[-_.]+/g, '-'))}${version}${q}`;
  }
}

const SOURCE_INFO: Record<FoundPackage['kind'], string> = {
  deb: 'acquired package info from DPKG DB', apk: 'acquired package info from APK DB',
  npm: 'acquired package info from installed node module manifest or lock file', pypi: 'acquired package info from installed python package metadata',
};

/** An SPDX id from free text: SPDX allows letters, digits, `.` and `-` (clause 7.2). */
function spdxId(kind: string, name: string, n: number): string {
  return `SPDXRef-Package-${kind}-${name.replace(/[^A-Za-z0-9.-]+/g, '-')}-${n}`;
}

/** What the document describes, for its name and namespace. */
export interface SpdxSubject { name: string; digest: string }

/**
 * The SPDX document listing `packages`. Its namespace is derived from the subject and the package list, so the same
 * image scanned twice gives the same document (`created` aside, which the caller pins with SOURCE_DATE_EPOCH).
 */
export function spdxDocument(subject: SpdxSubject, packages: FoundPackage[], opts: { created: string; creator: string; distro?: Distro }): SpdxDocument {
  const spdxPackages: SpdxPackage[] = packages.map((p, i) => ({
    name: p.name,
    SPDXID: spdxId(p.kind, p.name, i + 1),
    versionInfo: p.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: p.license ?? 'NOASSERTION',
    sourceInfo: `${SOURCE_INFO[p.kind]}: ${p.foundIn}`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purlOf(p, opts.distro) }],
  }));
  const hash = sha256(canonicalJson({ subject, packages: spdxPackages })).slice(7, 39);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: subject.name,
    documentNamespace: `https://tsbuild.invalid/spdx/${encodeURIComponent(subject.name)}-${hash}`,
    creationInfo: { created: opts.created, creators: [`Tool: ${opts.creator}`] },
    packages: spdxPackages,
    relationships: spdxPackages.map((p) => ({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: p.SPDXID })),
  };
}
