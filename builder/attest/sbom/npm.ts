import type { FoundPackage } from './package.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;   // a broken file in the image is not the build's failure: it just lists nothing
  }
}

/** The licence of a package.json: `"license": "MIT"`, or the old `{ "type": "MIT" }` form. */
function licenseOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.type === 'string') return value.type;
  return undefined;
}

/** The package a `node_modules/<name>/package.json` (or `node_modules/@scope/<name>/package.json`) describes. */
export function parseNpmPackageJson(text: string, foundIn: string): FoundPackage[] {
  const doc = parseJson(text);
  if (!isRecord(doc) || typeof doc.name !== 'string' || typeof doc.version !== 'string') return [];
  const license = licenseOf(doc.license);
  return [{ kind: 'npm', name: doc.name, version: doc.version, foundIn, ...(license ? { license } : {}) }];
}

/**
 * The dependencies a `package-lock.json` pins. lockfileVersion 2 and 3 list `packages` keyed by install path
 * (`node_modules/a/node_modules/@s/b`; the name is what follows the last `node_modules/`, or the entry's `name`
 * for aliases); version 1 nests `dependencies`. The root project (key "") is not a dependency.
 */
export function parseNpmLock(text: string, foundIn: string): FoundPackage[] {
  const doc = parseJson(text);
  if (!isRecord(doc)) return [];
  const out: FoundPackage[] = [];
  if (isRecord(doc.packages)) {
    for (const [path, entry] of Object.entries(doc.packages)) {
      if (path === '' || !isRecord(entry) || typeof entry.version !== 'string' || entry.link === true) continue;
      const at = path.lastIndexOf('node_modules/');
      const name = typeof entry.name === 'string' ? entry.name : at >= 0 ? path.slice(at + 'node_modules/'.length) : undefined;
      if (!name) continue;
      const license = licenseOf(entry.license);
      out.push({ kind: 'npm', name, version: entry.version, foundIn, ...(license ? { license } : {}) });
    }
    return out;
  }
  const walk = (deps: unknown): void => {
    if (!isRecord(deps)) return;
    for (const [name, entry] of Object.entries(deps)) {
      if (!isRecord(entry) || typeof entry.version !== 'string') continue;
      out.push({ kind: 'npm', name, version: entry.version, foundIn });
      walk(entry.dependencies);
    }
  };
  walk(doc.dependencies);
  return out;
}
