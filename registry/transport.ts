import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { EnvHttpProxyAgent, interceptors, type Dispatcher } from 'undici';
import { loadRegistryConfig, type RegistryConfig, type RegistryHostConfig } from './registry-config.js';
import { hostTls } from './tls-trust.js';
import { noProxyWithLoopback, systemCAs } from '../common/index.js';

/** How the client reaches registries: which hosts speak plain HTTP, which CAs to trust, how long to wait. */
export interface TransportOptions {
  /** Hosts (host[:port]) reached over plain HTTP. localhost, 127.0.0.1 and [::1] are too, unless listed in `secure`. */
  insecure?: string[];
  /** Local hosts that speak HTTPS after all (a TLS registry on 127.0.0.1); a certs.d directory for the host does the same. */
  secure?: string[];
  /**
   * docker's `--insecure-registry` (buildx's `registry.insecure`): HTTPS without verifying the certificate, or plain
   * HTTP when the host does not speak TLS at all (one TLS handshake decides, once per host).
   */
  insecureRegistries?: string[];
  /** A PEM CA bundle trusted for every HTTPS registry, in addition to the system's. */
  caFile?: string;
  /** Per-registry CAs and client certificates as docker keeps them: `<certsDir>/<host[:port]>/*.crt`, `*.cert` + `*.key`. Default /etc/docker/certs.d. */
  certsDir?: string;
  /** Connect and header timeout in ms (default 30 s); a body stalled this long also fails (default 5 min). */
  timeoutMs?: number;
  bodyTimeoutMs?: number;
  /** tsbuild.toml's `[registry."HOST"]` settings; default: read from `$TSBUILD_CONFIG` or the usual paths; false: none. */
  config?: RegistryConfig | false;
  /** Proxies; default `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` (or lower case) from the environment, as docker. */
  proxy?: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
}

const NO_HOST: RegistryHostConfig = { mirrors: [], http: false, insecure: false, ca: [] };

/**
 * Keep-alive connection pools per host, plain HTTP or HTTPS with the system's and the host's CAs (and a client
 * certificate from certs.d), through HTTP(S)_PROXY unless NO_PROXY says otherwise, redirects followed (blob CDNs;
 * undici drops Authorization when a redirect leaves the origin). Call `prepare(host)` before the first request.
 */
export class Transport {
  readonly #options: TransportOptions;
  readonly #agents = new Map<string, Promise<Dispatcher>>();
  readonly #localInsecure = new Map<string, boolean>();
  /** For insecure registries: whether the TLS probe found plain HTTP (the promise, and its answer once known). */
  readonly #probes = new Map<string, Promise<boolean>>();
  readonly #probed = new Map<string, boolean>();
  #config: Promise<RegistryConfig> | undefined;
  #loaded: RegistryConfig | undefined;

  constructor(options: TransportOptions = {}) {
    this.#options = options;
    if (options.config === false) this.#loaded = { hosts: {} };
    else if (options.config !== undefined) this.#loaded = options.config;
  }

  /** tsbuild.toml, read once (lazily, so constructing a client never fails). */
  config(): Promise<RegistryConfig> {
    if (this.#loaded !== undefined) return Promise.resolve(this.#loaded);
    this.#config ??= loadRegistryConfig().then((c) => (this.#loaded = c));
    return this.#config;
  }

  #host(host: string): RegistryHostConfig {
    return this.#loaded?.hosts[host] ?? NO_HOST;
  }

  /** Reads the config and, for an insecure registry, learns whether it speaks TLS at all. Idempotent. */
  async prepare(host: string): Promise<void> {
    await this.config();
    if (!this.#skipsVerify(host) || this.#isPlain(host)) return;
    let probe = this.#probes.get(host);
    if (probe === undefined) {
      probe = speaksPlainHttp(host, this.#options.timeoutMs ?? 30_000);
      this.#probes.set(host, probe);
    }
    this.#probed.set(host, await probe);
  }

  /** The mirrors tsbuild.toml lists for a registry host, tried in order before it for pulls. */
  async mirrors(host: string): Promise<string[]> {
    await this.config();
    return [...this.#host(host).mirrors];
  }

  #skipsVerify(host: string): boolean {
    return (this.#options.insecureRegistries ?? []).includes(host) || this.#host(host).insecure;
  }

  #isPlain(host: string): boolean {
    return (this.#options.insecure ?? []).includes(host) || this.#host(host).http;
  }

  /** True when `host` is spoken to over plain HTTP. */
  isInsecure(host: string): boolean {
    if (this.#isPlain(host) || this.#probed.get(host) === true) return true;
    if (this.#skipsVerify(host)) return false;
    if ((this.#options.secure ?? []).includes(host)) return false;
    const name = host.replace(/:\d+$/, '');
    const isLocal = name === 'localhost' || name === '127.0.0.1' || name === '[::1]' || name.endsWith('.localhost');
    // docker's rule for local registries, minus its HTTPS-then-HTTP guessing: CAs configured for the host mean TLS.
    if (!isLocal) return false;
    let insecure = this.#localInsecure.get(host);
    if (insecure === undefined) {
      insecure = !existsSync(`${this.#certsDir}/${host}`);
      this.#localInsecure.set(host, insecure);
    }
    return insecure;
  }

  get #certsDir(): string {
    return this.#options.certsDir ?? '/etc/docker/certs.d';
  }

  /** The base URL of a registry host's API: `http://127.0.0.1:5000`. */
  origin(host: string): string {
    return `${this.isInsecure(host) ? 'http' : 'https'}://${host}`;
  }

  /** The dispatcher for a URL's host, created once and kept for keep-alive. */
  dispatcher(url: URL): Promise<Dispatcher> {
    const key = `${url.protocol}//${url.host}`;
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent = this.#create(url);
      this.#agents.set(key, agent);
      agent.catch(() => this.#agents.delete(key));
    }
    return agent;
  }

  async #create(url: URL): Promise<Dispatcher> {
    await this.config();
    const timeout = this.#options.timeoutMs ?? 30_000;
    const host = url.host;
    const https = url.protocol === 'https:';
    const trust = https ? await hostTls(this.#certsDir, host, [...(this.#options.caFile !== undefined ? [this.#options.caFile] : []), ...this.#host(host).ca]) : undefined;
    // Giving `ca` replaces Node's default roots, so it holds them too (systemCAs), plus the system store and certs.d.
    const tlsOptions = trust === undefined ? {} : {
      ca: trust.ca,
      ...(trust.cert !== undefined && trust.key !== undefined ? { cert: trust.cert, key: trust.key } : {}),
      ...(this.#skipsVerify(host) ? { rejectUnauthorized: false } : {}),
    };
    const agent = new EnvHttpProxyAgent({
      noProxy: noProxyWithLoopback(process.env),
      ...this.#options.proxy,
      connections: 8,
      keepAliveTimeout: 30_000,
      connectTimeout: timeout,
      headersTimeout: timeout,
      bodyTimeout: this.#options.bodyTimeoutMs ?? 300_000,
      connect: tlsOptions,
      // Through a proxy, the registry's TLS runs inside the CONNECT tunnel (requestTls); the proxy's own TLS, for an
      // https:// proxy, trusts the system store.
      requestTls: tlsOptions,
      // Reading the system store costs 30-50 ms (hundreds of certificates parsed): only a proxy needs it here.
      ...(this.#usesProxy() ? { proxyTls: { ca: systemCAs() } } : {}),
    });
    return agent.compose(interceptors.redirect({ maxRedirections: 5 }));
  }

  /** True when requests may go through a proxy (an option or the environment names one), as EnvHttpProxyAgent decides. */
  #usesProxy(): boolean {
    const { httpProxy, httpsProxy } = this.#options.proxy ?? {};
    const env = process.env;
    return [httpProxy, httpsProxy, env['http_proxy'], env['HTTP_PROXY'], env['https_proxy'], env['HTTPS_PROXY']].some((v) => v !== undefined && v !== '');
  }

  /**
   * Closes every pool. undici makes a ClientDestroyedError for each connection it closes and node's socket.destroy()
   * reads that error's stack, whose frames point into the bundle: formatting them computed the line table of the whole
   * 2 MB bundle, ~1.8 % of a no-op build's CPU (perf, bench/RESULTS.md 2026-12-01), for a stack nobody prints. So the
   * errors made while the pools close carry no frames; the limit is put back when they are closed.
   */
  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    if (agents.length === 0) return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      await Promise.all(agents.map(async (a) => (await a.catch(() => undefined))?.close()));
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

// docker's insecure-registry rule: HTTPS when the host answers a TLS handshake (any certificate), else plain HTTP. A
// plain HTTP server answers a ClientHello with an HTTP 400, which OpenSSL reports as a wrong version number.
function speaksPlainHttp(host: string, timeoutMs: number): Promise<boolean> {
  const url = new URL(`https://${host}`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: hostname, port: Number(url.port || 443), rejectUnauthorized: false, ...(isIP(hostname) === 0 ? { servername: hostname } : {}) });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      resolve(code.startsWith('ERR_SSL') || code === 'EPROTO' || code === 'ECONNRESET');
    });
  });
}
