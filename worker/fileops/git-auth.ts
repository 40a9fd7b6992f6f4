import { readFile } from 'node:fs/promises';
import type { SecretSource } from '../../solver/index.js';

/**
 * The `Authorization` header value an http(s) git remote is fetched with, from the build's secrets as BuildKit's git
 * source looks them up (source/git/source.go, authSecretNames and getAuthToken): GIT_AUTH_HEADER.HOST,
 * GIT_AUTH_TOKEN.HOST, GIT_AUTH_HEADER, GIT_AUTH_TOKEN, the first that exists; a token is sent as basic
 * `x-access-token:TOKEN`, a header as it is. Undefined when none exists or the remote is not http(s).
 */
export async function gitAuthHeader(remote: string, secrets: Record<string, SecretSource> = {}): Promise<string | undefined> {
  let host: string;
  try {
    const url = new URL(remote);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    host = url.host;
  } catch {
    return undefined;   // scp-like ssh (git@host:repo): the agent's business
  }
  const names: [string, boolean][] = [[`GIT_AUTH_HEADER.${host}`, false], [`GIT_AUTH_TOKEN.${host}`, true], ['GIT_AUTH_HEADER', false], ['GIT_AUTH_TOKEN', true]];
  for (const [name, isToken] of names) {
    const source = secrets[name];
    if (source === undefined) continue;
    const value = (typeof source === 'string' ? await readFile(source) : Buffer.from(source)).toString('utf8');
    return isToken ? `basic ${Buffer.from(`x-access-token:${value}`).toString('base64')}` : value;
  }
  return undefined;
}
