import * as tls from 'node:tls';
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';

let shared: Dispatcher | undefined;

/**
 * The dispatcher ADD <url> downloads go through: HTTP_PROXY/HTTPS_PROXY/NO_PROXY (or lower case) from the
 * environment, as docker's ADD honours them, and the system CA store (where `update-ca-certificates` puts a company
 * CA) besides Node's bundled roots and NODE_EXTRA_CA_CERTS. One per process, so connections are reused; the
 * environment is read when it is first asked for.
 */
export function downloadDispatcher(): Dispatcher {
  if (shared === undefined) {
    const get = (tls as { getCACertificates?: (type: 'default' | 'system') => string[] }).getCACertificates;
    const ca = get !== undefined ? [...new Set([...get('default'), ...get('system')])] : undefined;
    // Loopback never goes through a proxy, as in Go's net/http (BuildKit's ADD): the proxy would reach its own.
    const value = process.env['no_proxy'] ?? process.env['NO_PROXY'] ?? '';
    const noProxy = value.trim() === '*' ? '*' : [value, 'localhost', '.localhost', '127.0.0.1', '[::1]'].filter((s) => s !== '').join(',');
    shared = new EnvHttpProxyAgent({ noProxy, ...(ca !== undefined ? { connect: { ca }, requestTls: { ca }, proxyTls: { ca } } : {}) });
  }
  return shared;
}
