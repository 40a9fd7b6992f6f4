import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError, systemCAs } from '../common/index.js';

/** What TLS to a registry host trusts and presents: CAs (PEM) and an optional client certificate for mutual TLS. */
export interface HostTls {
  ca: string[];
  cert?: string;
  key?: string;
}

/**
 * A host's TLS settings as docker reads `/etc/docker/certs.d/HOST[:PORT]/`: every `*.crt` is a CA, every `*.cert`
 * with the `*.key` of the same name a client certificate (mutual TLS; the first pair by name is used). A `.cert`
 * without its `.key` (or the reverse) is an error, as in docker. `caFiles` are trusted too.
 */
export async function hostTls(certsDir: string, host: string, caFiles: string[]): Promise<HostTls> {
  const ca = [...systemCAs()];
  for (const file of caFiles) ca.push(await readPem(file, host));
  const dir = join(certsDir, host);
  let names: string[] = [];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    // No per-registry directory: the usual case.
  }
  const out: HostTls = { ca };
  for (const name of names) {
    if (name.endsWith('.crt')) ca.push(await readPem(join(dir, name), host));
    const base = name.replace(/\.(cert|key)$/, '');
    if (base === name) continue;
    const pair = name.endsWith('.cert') ? `${base}.key` : `${base}.cert`;
    if (!names.includes(pair)) {
      throw new UserError('INVALID_ARGUMENT', `${join(dir, name)} has no matching ${pair}`, `a client certificate needs both NAME.cert and NAME.key in ${dir} (as docker requires)`);
    }
    if (name.endsWith('.cert') && out.cert === undefined) {
      out.cert = await readPem(join(dir, name), host);
      out.key = await readPem(join(dir, pair), host);
    }
  }
  return out;
}

async function readPem(file: string, host: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `cannot read ${file} (TLS material for ${host}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'fix the file or its permissions, or remove it', { cause: err });
  }
}
