import { parseStanzas, type FoundPackage } from './package.js';

/**
 * The packages of a dpkg status file (`/var/lib/dpkg/status`, or one file of distroless' `status.d/`). Only stanzas
 * whose `Status` says `installed` count (a removed package keeps a `deinstall ok config-files` stanza); the files in
 * `status.d/` carry no Status and are installed by construction.
 */
export function parseDpkgStatus(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  for (const s of parseStanzas(text)) {
    const name = s.get('package');
    const version = s.get('version');
    if (!name || !version) continue;
    const status = s.get('status');
    if (status !== undefined && !/\binstalled$/.test(status)) continue;
    // `Source: name (version)` when the binary version differs from the source's.
    const source = s.get('source')?.split(' ')[0];
    out.push({
      kind: 'deb', name, version, foundIn,
      ...(s.get('architecture') ? { arch: s.get('architecture') } : {}),
      ...(source && source !== name ? { source } : {}),
    });
  }
  return out;
}
