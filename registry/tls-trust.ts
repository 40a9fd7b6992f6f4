import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { UserError } from './oci/errors.js';

/** What TLS to a registry host trusts and presents: CAs (PEM) and an optional client certificate for mutual TLS. */
export interface HostTls {
  ca: string[];
  cert?: string;
  key?: string;
}

let systemStore: string[] | undefined;

/**
 * The CAs every HTTPS connection trusts: Node's bundled Mozilla roots, `NODE_EXTRA_CA_CERTS`, and the system store
 * (on Debian /etc/ssl/certs, where `update-ca-certificates` puts a company CA; OpenSSL's `SSL_CERT_FILE` and
 * `SSL_CERT_DIR` point it elsewhere). Node trusts only the first two by default, so a CA that curl and skopeo trust
 * would otherwise fail here. Read once per process.
 */
export function systemCAs(): string[] {
  if (systemStore !== undefined) return systemStore;
  const get = (tls as { getCACertificates?: (type: 'default' | 'system') => string[] }).getCACertificates;
  let certs: string[];
  if (get !== undefined) {
    certs = [...get('default'), ...get('system')];
  } else {
    // Node < 22.15 has no getCACertificates: the bundled roots plus the usual Linux bundle files.
    certs = [...tls.rootCertificates];
    const extra = process.env['NODE_EXTRA_CA_CERTS'];
    for (const file of [...(extra ? [extra] : []), process.env['SSL_CERT_FILE'] ?? '/etc/ssl/certs/ca-certificates.crt']) {
      try {
        certs.push(readFileSync(file, 'utf8'));
      } catch {
        // A missing bundle only means fewer roots.
      }
    }
  }
  systemStore = [...new Set(certs)];
  return systemStore;
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
