import { lstat, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../common/index.js';
import { digestHex } from '../../registry/oci/index.js';
import { hashFile } from '../../worker/index.js';
import type { MadeAttestation } from '../attest/attest-build.js';
import type { Subject } from '../attest/in-toto.js';

/** How a local or tar output names and dates the attestation files it writes. */
export interface AttestationFileOptions {
  /** `attestation-prefix=…`: put before each file's name. */
  prefix: string;
  /** Several platforms in one directory (a local output's platform-split=false): `provenance.linux_amd64.json`. */
  platformSuffix?: string;
  /** The files' time: SOURCE_DATE_EPOCH's, else the export's. */
  mtime: Date;
}

/**
 * Writes into `into` (an empty directory tsbuild made) the attestations a local or tar output puts beside the files of
 * `tree` (the platform's filesystem, mounted read-only), as BuildKit's local and tar exporters do (exporter/local/fs.go
 * CreateFS): each an in-toto statement about every regular file of the tree (its path and sha256), indented JSON, mode
 * 0600. Inline-only ones (buildx's default provenance) are left out. Returns the names written, none when nothing is
 * left to write.
 */
export async function writeAttestationFiles(tree: string, attestations: MadeAttestation[], into: string, opts: AttestationFileOptions): Promise<string[]> {
  const kept = attestations.filter((a) => !a.inlineOnly);
  if (kept.length === 0) return [];
  const subject = await regularFiles(tree);
  const names: string[] = [];
  for (const a of kept) {
    const name = fileName(opts.prefix + a.file, opts.platformSuffix);
    // BuildKit refuses two statements of one name (a provenance filename= that an SBOM has too).
    if (names.includes(name)) {
      throw new UserError('INVALID_ARGUMENT', `two attestations would be written as ${name} beside the output's files`, 'give --provenance a filename= no SBOM has (e.g. filename=provenance.json)');
    }
    names.push(name);
    // in-toto-golang's StatementHeader order: _type, predicateType, subject.
    const statement = { _type: 'https://in-toto.io/Statement/v1', predicateType: a.predicateType, subject, predicate: a.predicate };
    const path = join(into, name);
    await writeFile(path, JSON.stringify(statement, null, 2), { mode: 0o600, flag: 'wx' });
    await utimes(path, opts.mtime, opts.mtime);
  }
  return names;
}

/** `provenance.json` with a platform suffix: `provenance.linux_amd64.json`, as BuildKit's addPlatformToFilename. */
function fileName(name: string, suffix: string | undefined): string {
  if (suffix === undefined) return name;
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? `${name}.${suffix}` : `${name.slice(0, dot)}.${suffix}${name.slice(dot)}`;
}

/**
 * Every regular file below `root`, depth first with each directory's names in byte order (fsutil's Walk), as a
 * subject: its path from the root and its sha256. Nothing is followed: symlinks are not files here, as in BuildKit.
 */
async function regularFiles(root: string): Promise<Subject[]> {
  const out: Subject[] = [];
  const buffer = Buffer.allocUnsafe(256 * 1024);
  const base = Buffer.from(`${root}/`);
  const visit = async (rel: Buffer | undefined): Promise<void> => {
    const names = (await readdir(rel === undefined ? root : Buffer.concat([base, rel]), { encoding: 'buffer' })).sort(Buffer.compare);
    for (const name of names) {
      const path = rel === undefined ? name : Buffer.concat([rel, SLASH, name]);
      const abs = Buffer.concat([base, path]);
      const st = await lstat(abs, { bigint: true });
      if (st.isDirectory()) await visit(path);
      else if (st.isFile()) out.push({ name: path.toString(), digest: { sha256: digestHex(await hashFile(abs, st.size, buffer)) } });
    }
  };
  await visit(undefined);
  return out;
}

const SLASH = Buffer.from('/');
