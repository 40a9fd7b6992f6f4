/** What a registry login holds. A password may be a personal access token; identityToken is an OAuth2 refresh token. */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

/** Credentials found for a registry and where they came from, for error hints (never the secret itself). */
export interface CredentialLookup {
  credentials?: Credentials;
  /** Human description: `anonymous`, `/root/.docker/config.json auths["localhost:5000"]`, `docker-credential-pass`. */
  source: string;
}

/** Finds credentials for a registry host (`localhost:5000`, `docker.io`). */
export type CredentialSource = (registry: string) => Promise<CredentialLookup>;

/** A source that never has credentials. */
export const anonymous: CredentialSource = async () => ({ source: 'anonymous (no credentials configured)' });

/** A source with fixed credentials for every registry, e.g. from flags or environment variables. */
export function staticCredentials(credentials: Credentials, source = 'credentials given to the client'): CredentialSource {
  return async () => ({ credentials, source });
}
