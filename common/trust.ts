import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';

let systemStore: string[] | undefined;

/**
 * The CAs every HTTPS connection trusts: Node's bundled Mozilla roots, `NODE_EXTRA_CA_CERTS`, and the system store
 * (on Debian /etc/ssl/certs, where `update-ca-certificates` puts a company CA; OpenSSL's `SSL_CERT_FILE` and
 * `SSL_CERT_DIR` point it elsewhere). Node trusts only the first two by default, so a CA that curl and skopeo trust
 * would otherwise fail here. Read once per process; shared by registry requests and ADD <url> downloads.
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
 * NO_PROXY (or no_proxy) plus loopback names: Go's net/http, and so docker, skopeo and BuildKit's ADD, never send
 * localhost or a loopback address through a proxy (a proxy elsewhere would reach its own loopback, not ours).
 */
export function noProxyWithLoopback(env: NodeJS.ProcessEnv): string {
  const value = env['no_proxy'] ?? env['NO_PROXY'] ?? '';
  if (value.trim() === '*') return '*';
  return [value, 'localhost', '.localhost', '127.0.0.1', '[::1]'].filter((s) => s !== '').join(',');
}
