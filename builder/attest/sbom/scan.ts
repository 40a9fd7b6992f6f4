import type { Descriptor } from '../../../registry/oci/index.js';
import { parseApkInstalled } from './apk.js';
import { parseDpkgStatus } from './dpkg.js';
import { DEFAULT_LIMITS, readLayerFiles, type LayerBlobs, type ReadLimits } from './layer-files.js';
import { parseNpmLock, parseNpmPackageJson } from './npm.js';
import type { FoundPackage } from './package.js';
import { parsePythonMetadata } from './python.js';

/** The distribution an image says it is (`/etc/os-release`), for the purls' namespace (`pkg:deb/debian/…`). */
export interface Distro { id: string; versionId?: string }

/** What a scan found in one filesystem. */
export interface ScanResult {
  packages: FoundPackage[];
  distro?: Distro;
  /** Package databases left unread because they were over the size limit. */
  skipped: string[];
}

type Parser = (text: string, foundIn: string) => FoundPackage[];

/** The parser for a path, or undefined when the path is no package database this scanner reads. */
export function parserFor(path: string): Parser | undefined {
  if (path === 'var/lib/dpkg/status' || /^var\/lib\/dpkg\/status\.d\/[^/]+$/.test(path)) return parseDpkgStatus;
  if (path === 'lib/apk/db/installed') return parseApkInstalled;
  if (path === 'package-lock.json' || path.endsWith('/package-lock.json')) return parseNpmLock;
  // node_modules/<name>/package.json and node_modules/@scope/<name>/package.json, at any depth.
  if (/(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path)) return parseNpmPackageJson;
  if (/\.dist-info\/METADATA$/.test(path)) return parsePythonMetadata;
  return undefined;
}

const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];

/** `ID` and `VERSION_ID` of an os-release file (shell-style assignments, values maybe quoted). */
export function parseOsRelease(text: string): Distro | undefined {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) values.set(m[1], m[2].replace(/^(["'])(.*)\1$/, '$2'));
  }
  const id = values.get('ID');
  if (!id) return undefined;
  const versionId = values.get('VERSION_ID');
  return { id, ...(versionId ? { versionId } : {}) };
}

/**
 * Lists the packages installed in the filesystem `layers` make up, from the package databases only (dpkg, apk,
 * npm lock files and installed package.json files, Python dist-info): no file is executed, no rootfs mounted.
 * The same package found twice (a lock file and its installed package.json) is listed once.
 */
export async function scanLayers(layers: Descriptor[], blobs: LayerBlobs, limits: ReadLimits = DEFAULT_LIMITS, signal?: AbortSignal): Promise<ScanResult> {
  const read = await readLayerFiles(layers, blobs, (p) => parserFor(p) !== undefined || OS_RELEASE.includes(p), limits, signal);
  const seen = new Set<string>();
  const packages: FoundPackage[] = [];
  for (const [path, bytes] of [...read.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const parse = parserFor(path);
    if (!parse) continue;
    for (const p of parse(bytes.toString('utf8'), `/${path}`)) {
      const key = `${p.kind}\0${p.name}\0${p.version}\0${p.arch ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      packages.push(p);
    }
  }
  const osRelease = OS_RELEASE.map((p) => read.files.get(p)).find((b) => b !== undefined);
  const distro = osRelease ? parseOsRelease(osRelease.toString('utf8')) : undefined;
  return { packages, skipped: read.skipped, ...(distro ? { distro } : {}) };
}
