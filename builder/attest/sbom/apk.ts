import type { FoundPackage } from './package.js';

/** The packages of apk's database (`/lib/apk/db/installed`): one-letter keys (`P:` name, `V:` version, …), blank-line separated. */
export function parseApkInstalled(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  let fields = new Map<string, string>();
  const flush = (): void => {
    const name = fields.get('P');
    const version = fields.get('V');
    if (name && version) {
      const origin = fields.get('o');
      out.push({
        kind: 'apk', name, version, foundIn,
        ...(fields.get('A') ? { arch: fields.get('A') } : {}),
        ...(fields.get('L') ? { license: fields.get('L') } : {}),
        ...(origin && origin !== name ? { source: origin } : {}),
      });
    }
    fields = new Map();
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') { flush(); continue; }
    // Only the first value of a key counts: file entries (F:, R:, Z:) repeat and do not matter here.
    if (line[1] === ':' && !fields.has(line[0] ?? '')) fields.set(line[0] ?? '', line.slice(2).trim());
  }
  flush();
  return out;
}
