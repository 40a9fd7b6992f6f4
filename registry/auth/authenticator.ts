import type { Challenge } from './www-authenticate.js';
import { parseWwwAuthenticate } from './www-authenticate.js';
import type { CredentialLookup, CredentialSource, Credentials } from './credentials.js';

/** A token endpoint's answer, already read: status and parsed JSON (or undefined). */
export interface TokenResponse {
  status: number;
  body: unknown;
}

/** How the authenticator reaches a token endpoint; the client supplies it so tokens go through its transport. */
export type TokenFetcher = (registry: string, url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }) => Promise<TokenResponse>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

interface RegistryAuthState {
  challenge?: Challenge;
  lookup?: CredentialLookup;
  tokens: Map<string, Promise<CachedToken>>;
}

/** Why an authentication attempt failed: what the token server said, for the error hint. */
export class TokenError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Authorization for registry requests (distribution's token flow, docs/spec/auth/token.md): learns each registry's
 * challenge from a 401, sends Basic credentials or fetches a bearer token per scope set, caches tokens until shortly
 * before they expire, and refreshes them when the registry answers 401 again.
 */
export class Authenticator {
  readonly #credentials: CredentialSource;
  readonly #fetchToken: TokenFetcher;
  readonly #state = new Map<string, RegistryAuthState>();

  constructor(credentials: CredentialSource, fetchToken: TokenFetcher) {
    this.#credentials = credentials;
    this.#fetchToken = fetchToken;
  }

  #of(registry: string): RegistryAuthState {
    let s = this.#state.get(registry);
    if (s === undefined) {
      s = { tokens: new Map() };
      this.#state.set(registry, s);
    }
    return s;
  }

  /** Where this registry's credentials came from (never the secret), for error hints. */
  async credentialSource(registry: string): Promise<string> {
    return (await this.#lookup(registry)).source;
  }

  async #lookup(registry: string): Promise<CredentialLookup> {
    const s = this.#of(registry);
    s.lookup ??= await this.#credentials(registry);
    return s.lookup;
  }

  /** True once a challenge has been seen for this registry, i.e. it wants authorization. */
  hasChallenge(registry: string): boolean {
    return this.#of(registry).challenge !== undefined;
  }

  /** Records the challenge from a 401's WWW-Authenticate header; false when it holds none we can answer. */
  learn(registry: string, header: string | undefined): boolean {
    const challenges = parseWwwAuthenticate(header ?? '');
    const usable = challenges.find((c) => c.scheme === 'bearer' && c.params['realm'] !== undefined) ?? challenges.find((c) => c.scheme === 'basic');
    if (usable === undefined) return false;
    this.#of(registry).challenge = usable;
    return true;
  }

  /** The Authorization header for a request needing `scopes`, or undefined when the registry asked for none. */
  async authorization(registry: string, scopes: string[]): Promise<string | undefined> {
    const s = this.#of(registry);
    const challenge = s.challenge;
    if (challenge === undefined) return undefined;
    const { credentials } = await this.#lookup(registry);
    if (challenge.scheme === 'basic') return credentials ? basic(credentials) : undefined;
    const key = [...scopes].sort().join(' ');
    // Concurrent requests for one scope set share one token request: the cache holds promises.
    const existing = s.tokens.get(key);
    if (existing !== undefined) {
      const cached = await existing.catch(() => undefined);
      if (cached !== undefined && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
      if (s.tokens.get(key) === existing) s.tokens.delete(key);
      const replaced = s.tokens.get(key);
      if (replaced !== undefined) return `Bearer ${(await replaced).token}`;
    }
    const pending = this.#token(registry, challenge, scopes, credentials);
    s.tokens.set(key, pending);
    pending.catch(() => {
      if (s.tokens.get(key) === pending) s.tokens.delete(key);
    });
    return `Bearer ${(await pending).token}`;
  }

  /** Forgets cached tokens for `scopes` after a 401, and learns the new challenge. True when a retry may succeed. */
  refresh(registry: string, header: string | undefined, scopes: string[]): boolean {
    const s = this.#of(registry);
    s.tokens.delete([...scopes].sort().join(' '));
    return this.learn(registry, header);
  }

  async #token(registry: string, challenge: Challenge, scopes: string[], credentials: Credentials | undefined): Promise<CachedToken> {
    const realm = new URL(challenge.params['realm'] ?? '');
    const service = challenge.params['service'];
    let response: TokenResponse | undefined;
    if (credentials?.identityToken !== undefined) {
      // OAuth2 refresh-token grant (docs/spec/auth/oauth.md), as docker does with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'tsbuild' });
      if (service !== undefined) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      response = await this.#fetchToken(registry, new URL(realm), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      // Token servers without the OAuth2 POST answer 404 (GCR), 401 (Artifactory) or 400 (ACR): containerd's
      // fetchToken then asks with GET and the token as the Basic secret, and so does this.
      if ([400, 401, 404].includes(response.status)) response = undefined;
    }
    if (response === undefined) {
      if (service !== undefined) realm.searchParams.set('service', service);
      for (const scope of scopes) realm.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (credentials?.identityToken !== undefined) headers['authorization'] = basic({ username: '', password: credentials.identityToken });
      else if (credentials?.username !== undefined && credentials.password !== undefined) headers['authorization'] = basic(credentials);
      response = await this.#fetchToken(registry, realm, { method: 'GET', headers });
    }
    if (response.status !== 200) throw new TokenError(response.status, `token server ${realm.origin} answered ${response.status}`);
    const body = response.body as Record<string, unknown> | undefined;
    // access_token when it is set, else token, as containerd's FetchToken and go-containerregistry read the answer.
    const filled = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const token = filled(body?.['access_token']) ?? filled(body?.['token']);
    if (token === undefined || token === '') throw new TokenError(response.status, `token server ${realm.origin} sent no token`);
    // The spec's default lifetime is 60 s; renew 10 s early so a token does not expire mid-request.
    const expiresIn = typeof body?.['expires_in'] === 'number' && body['expires_in'] > 0 ? body['expires_in'] : 60;
    return { token, expiresAt: Date.now() + Math.max(1, expiresIn - 10) * 1000 };
  }
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64')}`;
}

/** The scope a request on a repository needs (docs/spec/auth/scope.md). */
export function repositoryScope(path: string, actions: 'pull' | 'push' | 'pull,push'): string {
  return `repository:${path}:${actions}`;
}
