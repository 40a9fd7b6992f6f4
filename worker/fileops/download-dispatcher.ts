import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { noProxyWithLoopback, systemCAs } from '../../common/index.js';

let shared: Dispatcher | undefined;

/**
 * The dispatcher ADD <url> downloads go through: HTTP_PROXY/HTTPS_PROXY/NO_PROXY (or lower case) from the
 * environment, as docker's ADD honours them, and the same CA store as registry requests. One per process, so
 * connections are reused; the environment is read when it is first asked for.
 */
export function downloadDispatcher(): Dispatcher {
  if (shared === undefined) {
    const ca = systemCAs();
    shared = new EnvHttpProxyAgent({ noProxy: noProxyWithLoopback(process.env), connect: { ca }, requestTls: { ca }, proxyTls: { ca } });
  }
  return shared;
}
