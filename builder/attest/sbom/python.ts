import { parseStanzas, type FoundPackage } from './package.js';

/** The package of one `*.dist-info/METADATA` file (core metadata: RFC 822 headers, then the description). */
export function parsePythonMetadata(text: string, foundIn: string): FoundPackage[] {
  // The headers end at the first blank line; the long description after it may hold anything.
  const headers = parseStanzas(text.split(/\r?\n\r?\n/)[0] ?? '')[0];
  const name = headers?.get('name');
  const version = headers?.get('version');
  if (!headers || !name || !version) return [];
  const license = headers.get('license-expression') ?? headers.get('license');
  return [{ kind: 'pypi', name, version, foundIn, ...(license && !license.includes('\n') ? { license } : {}) }];
}
