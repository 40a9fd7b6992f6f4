import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { Authenticator, TokenError } from './auth/authenticator.js';
import type { CredentialSource } from './auth/credentials.js';
import { emptyMetrics, type RegistryMetrics, type RequestKind } from './metrics.js';
import { RegistryError, type RegistryErrorCode } from './registry-error.js';
import { parseRetryAfter } from './retry.js';
import type { Transport } from './transport.js';
import { registryEndpoint } from './reference.js';
import { USER_AGENT } from '../common/index.js';

/** One HTTP request to a registry's API. */
export interface Call {
  kind: RequestKind;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** The registry domain as in a Reference (`docker.io`, `localhost:5000`). */
  registry: string;
  /** A path (`/v2/…`) on the registry, or an absolute URL such as an upload Location. */
  url: string;
  /** The reference or repository named in errors. */
  ref: string;
  scopes: string[];
  headers?: Record<string, string>;
  /** Bytes can be re-sent after a 401; a stream cannot, so a 401 on a stream body fails (and retries whole). */
  body?: Uint8Array | Readable;
  signal?: AbortSignal;
  /** Statuses the caller handles itself; anything else becomes a RegistryError. */
  ok: number[];
  /** The code for a 404 that is not in `ok`: IMAGE_NOT_FOUND for manifests. */
  notFound?: RegistryErrorCode;
}

const ERROR_BODY_LIMIT = 64 * 1024;
/** A token answer is a JWT or two in JSON: a few KiB. Anything near this is not one. */
const TOKEN_BODY_LIMIT = 1024 * 1024;

/**
 * Sends calls: authorization (challenge, token, one retry on 401), metrics, and errors that say what to do. There is no
 * `GET /v2/` ping first: as containerd's resolver does, the real request goes out and a 401 teaches the challenge
 * (docs/spec/auth/token.md: a client "attempts" the operation and answers the challenge), saving a round trip per
 * registry per process. Only a request sent with credentials drops its cached token on a 401.
 */
export class Session {
  readonly metrics: RegistryMetrics = emptyMetrics();
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #prepared = new Map<string, Promise<void>>();

  constructor(transport: Transport, credentials: CredentialSource) {
    this.#transport = transport;
    this.#auth = new Authenticator(credentials, async (registry, url, init) => {
      // A token request carries the user's password: an HTTPS registry's realm over plain HTTP would send it in the
      // clear (and a token that opens the registry), so it is refused rather than followed.
      if (url.protocol !== 'https:' && !this.#transport.isInsecure(registryEndpoint(registry))) {
        throw new RegistryError({
          code: 'REGISTRY_AUTH',
          ref: registry,
          message: `registry ${registry} (HTTPS) sends clients to token realm ${url.origin}${url.pathname} over plain HTTP: refused, it would expose the credentials`,
          hint: `the registry's auth.token.realm must be an https:// URL; if ${registry} is really meant to be plain HTTP, list it as insecure (--insecure-registry or http = true in tsbuild.toml)`,
        });
      }
      this.metrics.requests.token++;
      const res = await this.#raw(url, { method: init.method, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}) }, url.host, `token for ${url.host}`);
      const text = await readLimited(res, TOKEN_BODY_LIMIT);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, body };
    });
  }

  /** The full URL for a call's path on a registry. */
  url(registry: string, pathOrUrl: string): URL {
    return new URL(pathOrUrl, `${this.#transport.origin(registryEndpoint(registry))}/`);
  }

  /** Sends a call and returns the response for a status in `call.ok`; the caller must consume or dump the body. */
  async send(call: Call): Promise<Dispatcher.ResponseData> {
    await this.#prepare(call.registry);
    const url = this.url(call.registry, call.url);
    // Credentials go to the registry's own origin only, scheme and port included: an upload Location on another host
    // (a storage backend, a CDN), or on the same host over plain HTTP (a TLS-terminating proxy in front of the
    // registry), gets none, as containerd's pusher strips its authorizer on a change of host or scheme. Redirects are
    // handled the same way by undici.
    const isOwnHost = url.origin === this.url(call.registry, '/').origin;
    // At most one 401 that teaches the challenge (sent without credentials) and one that refreshes a token.
    let learned = false;
    let refreshed = false;
    for (;;) {
      const authorization = isOwnHost ? await this.#authorization(call) : undefined;
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...call.headers };
      if (authorization !== undefined) headers['authorization'] = authorization;
      this.metrics.requests[call.kind]++;
      const res = await this.#raw(url, { method: call.method, headers, body: call.body, signal: call.signal }, call.registry, call.ref);
      // A 401 from where a redirect led (a blob CDN) is that server's, not the registry's: its challenge must not
      // teach the registry's (the next token request would send the user's password to its realm).
      if (res.statusCode === 401 && answeredElsewhere(res, url)) {
        await res.body.dump();
        throw new RegistryError({
          code: 'REGISTRY_AUTH', ref: call.ref, status: 401,
          message: `${call.method} ${call.ref}: the storage the registry redirected to refused the request (401)`,
          hint: `the registry ${call.registry} sent the download to another server, which wants credentials of its own; tsbuild never sends it the registry's`,
        });
      }
      if (res.statusCode === 401 && !(authorization === undefined ? learned : refreshed)) {
        await res.body.dump();
        // Without credentials sent, the 401 only says which ones the registry wants: learning that must not drop a
        // token a concurrent request has just fetched for the same scopes.
        const challenge = header(res, 'www-authenticate');
        let mayRetry: boolean;
        if (authorization === undefined) {
          learned = true;
          mayRetry = isOwnHost && this.#auth.learn(call.registry, challenge);
        } else {
          refreshed = true;
          mayRetry = isOwnHost && this.#auth.refresh(call.registry, challenge, call.scopes);
        }
        if (mayRetry && !isStream(call.body)) continue;
        // A token that expired mid-upload (or a first upload that met the challenge): the stream is spent, so the
        // error is retryable and the caller's retry starts the upload over with the right authorization.
        throw await this.#authError(call, 401, [], '', undefined, mayRetry && isStream(call.body));
      }
      if (call.ok.includes(res.statusCode)) return res;
      throw await this.#responseError(call, res);
    }
  }

  async #authorization(call: Call): Promise<string | undefined> {
    try {
      return await this.#auth.authorization(call.registry, call.scopes);
    } catch (err) {
      if (err instanceof TokenError) throw await this.#authError(call, err.status, [], err.message, err);
      throw err;
    }
  }

  // Once per registry: tsbuild.toml, and for an insecure registry whether it speaks TLS at all. A failure is not
  // remembered: the next call tries again.
  #prepare(registry: string): Promise<void> {
    let p = this.#prepared.get(registry);
    if (p === undefined) {
      p = this.#transport.prepare(registryEndpoint(registry));
      this.#prepared.set(registry, p);
      p.catch(() => this.#prepared.delete(registry));
    }
    return p;
  }

  async #raw(url: URL, options: { method: string; headers: Record<string, string>; body?: Uint8Array | Readable | string | undefined; signal?: AbortSignal | undefined }, registry: string, ref: string): Promise<Dispatcher.ResponseData> {
    const dispatcher = await this.#transport.dispatcher(url);
    try {
      // undici closes the connection after every HEAD unless told otherwise (undici#258: servers that send a body
      // with a HEAD answer); registries do not, and a push HEADs every blob: a new connection (a TLS handshake on a
      // real registry) per blob otherwise. undici reads no body after a HEAD answer either way.
      return await request(url, { dispatcher, method: options.method as Dispatcher.HttpMethod, headers: options.headers, body: options.body ?? null, signal: options.signal ?? null, ...(options.method === 'HEAD' ? { reset: false } : {}) });
    } catch (err) {
      throw networkError(err, registry, ref, url);
    }
  }

  async #responseError(call: Call, res: Dispatcher.ResponseData): Promise<RegistryError> {
    const text = call.method === 'HEAD' ? '' : await readLimited(res);
    if (call.method === 'HEAD') await res.body.dump();
    const { codes, messages } = parseErrorBody(text);
    const status = res.statusCode;
    if (status === 401 || status === 403) return await this.#authError(call, status, codes, messages.join('; '));
    const detail = messages.length > 0 ? `: ${messages.join('; ')}` : '';
    // Go's net/http answers plain HTTP on a TLS port with this 400: a local registry (127.0.0.1) is assumed to be plain
    // HTTP unless a certs.d directory says otherwise, so say how to make it TLS instead of "answered 400".
    if (status === 400 && text.includes('HTTP request to an HTTPS server')) {
      return new RegistryError({ code: 'REGISTRY_UNREACHABLE', ref: call.ref, status, message: `registry ${call.registry} speaks HTTPS but was called over plain HTTP`, hint: `put the registry's CA in /etc/docker/certs.d/${call.registry}/ca.crt (or a --certs-dir) so tsbuild uses TLS for it` });
    }
    const retryAfterMs = parseRetryAfter(header(res, 'retry-after'));
    if (status === 404 && call.notFound === 'IMAGE_NOT_FOUND') {
      return new RegistryError({ code: 'IMAGE_NOT_FOUND', ref: call.ref, status, registryCodes: codes, message: `image ${call.ref} not found${detail}`, hint: 'check the repository name and tag; for a private image, run tsbuild login first' });
    }
    if (codes.includes('DIGEST_INVALID') || codes.includes('SIZE_INVALID')) {
      return new RegistryError({ code: 'DIGEST_MISMATCH', ref: call.ref, status, registryCodes: codes, message: `${call.method} ${call.ref}: registry rejected the content (${codes.join(', ')})${detail}`, hint: 'the uploaded bytes do not match their descriptor; the local blob may be corrupt' });
    }
    return new RegistryError({ code: 'REGISTRY_REQUEST', ref: call.ref, status, registryCodes: codes, message: `${call.method} ${call.ref}: registry answered ${status}${codes.length > 0 ? ` ${codes.join(', ')}` : ''}${detail}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }

  async #authError(call: Call, status: number, codes: string[], detail = '', cause?: unknown, transient = false): Promise<RegistryError> {
    const source = await this.#auth.credentialSource(call.registry);
    const denied = status === 403 ? 'access denied' : 'authentication required';
    return new RegistryError({
      code: 'REGISTRY_AUTH',
      ref: call.ref,
      status,
      registryCodes: codes,
      message: `${call.method} ${call.ref}: ${denied} (scope ${call.scopes.join(' ') || 'none'})${detail !== '' ? `: ${detail}` : ''}`,
      hint: `credentials tried: ${source}; run tsbuild login ${call.registry} with an account that may ${call.scopes.some((s) => s.endsWith('push')) ? 'push to' : 'pull from'} this repository`,
      transient,
      ...(cause !== undefined ? { cause } : {}),
    });
  }
}

function isStream(body: Call['body']): boolean {
  return body !== undefined && !(body instanceof Uint8Array);
}

/** A response header as one string. */
export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * True when undici followed a redirect to an origin other than `asked`'s for `res`: its redirect handler records the
 * URL of every response it saw, the last one the URL that answered.
 */
function answeredElsewhere(res: Dispatcher.ResponseData, asked: URL): boolean {
  const history = (res.context as { history?: unknown } | undefined)?.history;
  const last: unknown = Array.isArray(history) ? history.at(-1) : undefined;
  return last instanceof URL && last.origin !== asked.origin;
}

/** The first `limit` bytes of a body as text; the rest is never read (the body is destroyed), as containerd's 64 KB. */
export async function readLimited(res: Dispatcher.ResponseData, limit = ERROR_BODY_LIMIT): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    n += chunk.length;
    // A body that never ends (a hostile or broken server) would otherwise be read for ever.
    if (n >= limit) { res.body.destroy(); break; }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function parseErrorBody(text: string): { codes: string[]; messages: string[] } {
  const codes: string[] = [];
  const messages: string[] = [];
  try {
    const parsed: unknown = JSON.parse(text);
    const errors = (parsed as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      for (const e of errors as unknown[]) {
        const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
        if (typeof code === 'string') codes.push(code);
        if (typeof message === 'string') messages.push(message);
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page): the status says enough.
  }
  return { codes, messages };
}

const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];
const TRANSIENT = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED'];

/** Turns a network-level failure into a RegistryError naming the host; resets and timeouts are retryable. */
export function networkError(err: unknown, registry: string, ref: string, url: URL): unknown {
  if (err instanceof RegistryError) return err;
  if ((err as { name?: unknown }).name === 'AbortError') return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code !== undefined && UNREACHABLE.includes(code)) {
    return new RegistryError({ code: 'REGISTRY_UNREACHABLE', ref, message: `cannot reach registry ${registry} at ${url.origin}: ${code}`, hint: `check that the registry is running and that ${url.host} is the right host and port`, cause: err });
  }
  if (code !== undefined && (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'EPROTO' || code.startsWith('ERR_SSL'))) {
    const plain = /wrong version number|packet length too long/i.test(message);
    return new RegistryError({ code: 'REGISTRY_UNREACHABLE', ref, message: plain ? `TLS to registry ${registry} failed: it answered in plain HTTP` : `TLS to registry ${registry} failed: ${message}`, hint: `put the registry's CA in /etc/docker/certs.d/${url.host}/ca.crt, or list ${registry} as insecure if it speaks plain HTTP`, cause: err });
  }
  // undici's redirect interceptor: a loop, or more hops than it follows (Go's net/http: "stopped after 10 redirects").
  if (code === 'UND_ERR_INVALID_ARG' && /redirect/i.test(message)) {
    return new RegistryError({ code: 'REGISTRY_REQUEST', ref, message: `registry ${registry} redirected ${url.pathname} in a loop (or too many times): ${message.split('.')[0] ?? message}`, hint: 'the registry or a proxy in front of it is misconfigured; check its redirects', cause: err });
  }
  if (code !== undefined && TRANSIENT.includes(code)) {
    return new RegistryError({ code: 'REGISTRY_UNREACHABLE', ref, message: `connection to registry ${registry} failed: ${code} (${message})`, hint: 'the connection dropped; it is retried automatically', transient: true, cause: err });
  }
  return err;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
