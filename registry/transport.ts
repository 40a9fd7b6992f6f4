import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, interceptors, type Dispatcher } from 'undici';

/** How the client reaches registries: which hosts speak plain HTTP, which CAs to trust, how long to wait. */
export interface TransportOptions {
  /** Hosts (host[:port]) reached over plain HTTP. localhost, 127.0.0.1 and [::1] are too, unless listed in `secure`. */
  insecure?: string[];
  /** Local hosts that speak HTTPS after all (a TLS registry on 127.0.0.1); a certs.d directory for the host does the same. */
  secure?: string[];
  /** A PEM CA bundle trusted for every HTTPS registry, in addition to the system's. */
  caFile?: string;
  /** Per-registry CAs as docker keeps them: `<certsDir>/<host[:port]>/*.crt`. Default /etc/docker/certs.d. */
  certsDir?: string;
  /** Connect and header timeout in ms (default 30 s); a body stalled this long also fails (default 5 min). */
  timeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** Keep-alive connection pools per host, plain HTTP or HTTPS with the right CAs, redirects followed (blob CDNs). */
export class Transport {
  readonly #options: TransportOptions;
  readonly #agents = new Map<string, Promise<Dispatcher>>();
  readonly #localInsecure = new Map<string, boolean>();

  constructor(options: TransportOptions = {}) {
    this.#options = options;
  }

  /** True when `host` is spoken to over plain HTTP. */
  isInsecure(host: string): boolean {
    if ((this.#options.insecure ?? []).includes(host)) return true;
    if ((this.#options.secure ?? []).includes(host)) return false;
    const name = host.replace(/:\d+$/, '');
    const isLocal = name === 'localhost' || name === '127.0.0.1' || name === '[::1]' || name.endsWith('.localhost');
    // docker's rule for local registries, minus its HTTPS-then-HTTP guessing: CAs configured for the host mean TLS.
    if (!isLocal) return false;
    let insecure = this.#localInsecure.get(host);
    if (insecure === undefined) {
      insecure = !existsSync(join(this.#certsDir, host));
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
    }
    return agent;
  }

  async #create(url: URL): Promise<Dispatcher> {
    const timeout = this.#options.timeoutMs ?? 30_000;
    // Giving `ca` replaces Node's bundled roots; keep them so a custom CA adds trust rather than removing it.
    const ca = url.protocol === 'https:' ? await this.#cas(url.host) : [];
    const agent = new Agent({
      connections: 8,
      keepAliveTimeout: 30_000,
      connectTimeout: timeout,
      headersTimeout: timeout,
      bodyTimeout: this.#options.bodyTimeoutMs ?? 300_000,
      ...(ca.length > 0 ? { connect: { ca: [...rootCertificates, ...ca] } } : {}),
    });
    return agent.compose(interceptors.redirect({ maxRedirections: 5 }));
  }

  async #cas(host: string): Promise<string[]> {
    const out: string[] = [];
    if (this.#options.caFile !== undefined) out.push(await readFile(this.#options.caFile, 'utf8'));
    const dir = join(this.#certsDir, host);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      // No per-registry directory: the usual case.
    }
    for (const name of names.sort()) if (name.endsWith('.crt')) out.push(await readFile(join(dir, name), 'utf8'));
    return out;
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map(async (a) => (await a).close()));
  }
}

