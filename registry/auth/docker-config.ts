import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { helperGet, runCredentialHelper } from './credential-helper.js';
import type { CredentialLookup, CredentialSource, Credentials } from './credentials.js';
import { UserError, replaceFile } from '../../common/index.js';

/** One `auths` entry of docker's config.json, with docker's field names. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The parts of docker's config.json that concern registries; `raw` keeps everything so a rewrite loses nothing. */
export interface DockerConfig {
  auths: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers: Record<string, string>;
  raw: Record<string, unknown>;
}

/** The key docker uses for Docker Hub in `auths` and with credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG'] !== undefined && env['DOCKER_CONFIG'] !== '' ? env['DOCKER_CONFIG'] : join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** Checks config.json text (as `unknown` JSON) and returns the registry parts; throws UserError on a malformed file. */
export function parseDockerConfig(value: unknown, path: string): DockerConfig {
  const bad = (what: string): UserError =>
    new UserError('INVALID_ARGUMENT', `${path}: ${what}`, 'fix or remove the docker config file, or point DOCKER_CONFIG elsewhere');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object');
  const raw = value as Record<string, unknown>;
  const auths: Record<string, AuthEntry> = {};
  if (raw['auths'] !== undefined) {
    if (typeof raw['auths'] !== 'object' || raw['auths'] === null) throw bad('"auths" is not an object');
    for (const [key, entry] of Object.entries(raw['auths'] as Record<string, unknown>)) {
      if (typeof entry !== 'object' || entry === null) throw bad(`auths[${JSON.stringify(key)}] is not an object`);
      const e = entry as Record<string, unknown>;
      const out: AuthEntry = {};
      for (const field of ['auth', 'username', 'password', 'identitytoken'] as const) {
        const v = e[field];
        if (typeof v === 'string' && v !== '') out[field] = v;
      }
      auths[key] = out;
    }
  }
  const credHelpers: Record<string, string> = {};
  if (typeof raw['credHelpers'] === 'object' && raw['credHelpers'] !== null) {
    for (const [key, helper] of Object.entries(raw['credHelpers'] as Record<string, unknown>)) {
      if (typeof helper === 'string' && helper !== '') credHelpers[key] = helper;
    }
  }
  const config: DockerConfig = { auths, credHelpers, raw };
  if (typeof raw['credsStore'] === 'string' && raw['credsStore'] !== '') config.credsStore = raw['credsStore'];
  return config;
}

/** Reads a docker config.json; a missing file is an empty config. */
export async function readDockerConfig(path = dockerConfigPath()): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {}, credHelpers: {}, raw: {} };
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `${path}: not valid JSON`, 'fix or remove the docker config file', { cause: err });
  }
  return parseDockerConfig(value, path);
}

/** The key docker files a registry under: Hub's legacy URL for docker.io, else host[:port]. */
export function authKey(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? DOCKER_HUB_AUTH_KEY : registry;
}

// docker's ConvertToHostname: `https://host:5000/v1/` → `host:5000`.
function hostOfKey(key: string): string {
  const stripped = key.replace(/^https?:\/\//, '');
  return stripped.split('/')[0] ?? stripped;
}

/** Finds the `auths` entry for a registry, matching keys written with a scheme or path as docker does. */
export function findAuthEntry(config: DockerConfig, registry: string): [string, AuthEntry] | undefined {
  const key = authKey(registry);
  const exact = config.auths[key];
  if (exact !== undefined) return [key, exact];
  const host = hostOfKey(key);
  for (const [k, entry] of Object.entries(config.auths)) if (hostOfKey(k) === host) return [k, entry];
  return undefined;
}

/** Decodes an `auths` entry into credentials; undefined when it holds none. */
export function entryCredentials(entry: AuthEntry): Credentials | undefined {
  if (entry.identitytoken !== undefined) return { identityToken: entry.identitytoken };
  if (entry.auth !== undefined) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** A CredentialSource over docker's config.json: credHelpers, then credsStore, then `auths`, as docker looks them up. */
export function dockerConfigCredentials(path = dockerConfigPath()): CredentialSource {
  return async (registry: string): Promise<CredentialLookup> => {
    const config = await readDockerConfig(path);
    const key = authKey(registry);
    const helper = config.credHelpers[key] ?? config.credHelpers[registry] ?? config.credsStore;
    if (helper !== undefined) {
      const credentials = await helperGet(helper, key);
      if (credentials !== undefined) return { credentials, source: `docker-credential-${helper} (from ${path})` };
    }
    const found = findAuthEntry(config, registry);
    if (found !== undefined) {
      const credentials = entryCredentials(found[1]);
      if (credentials !== undefined) return { credentials, source: `${path} auths[${JSON.stringify(found[0])}]` };
    }
    return { source: `anonymous (no credentials for ${key} in ${path})` };
  };
}

/**
 * Replaces config.json crash-safely (common/replace-file.ts: a temp file beside it that a planted link cannot
 * redirect, mode 0600, fsynced, renamed, the directory fsynced). A config.json that is a symbolic link is replaced by
 * the file, never written through: a link planted there must not redirect a write made as root.
 */
export async function writeDockerConfig(path: string, raw: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await replaceFile(path, `${JSON.stringify(raw, null, '\t')}\n`, 0o600, { replaceLink: true });
}

/**
 * Stores credentials for a registry as `docker login` does: in the configured credential helper when there is one
 * (leaving an empty `auths` entry), else base64 `auth` in config.json (mode 0600). Does not contact the registry.
 */
export async function login(registry: string, username: string, password: string, configPath = dockerConfigPath()): Promise<void> {
  const config = await readDockerConfig(configPath);
  const key = authKey(registry);
  const helper = config.credHelpers[key] ?? config.credsStore;
  const auths = { ...((config.raw['auths'] as Record<string, unknown> | undefined) ?? {}) };
  if (helper !== undefined) {
    await runCredentialHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: username, Secret: password }));
    auths[key] = {};
  } else {
    auths[key] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  }
  await writeDockerConfig(configPath, { ...config.raw, auths });
}

/** Removes a registry's credentials as `docker logout` does; true when there were some. */
export async function logout(registry: string, configPath = dockerConfigPath()): Promise<boolean> {
  const config = await readDockerConfig(configPath);
  const key = authKey(registry);
  const helper = config.credHelpers[key] ?? config.credsStore;
  let removed = false;
  if (helper !== undefined) {
    try {
      await runCredentialHelper(helper, 'erase', key);
      removed = true;
    } catch {
      // docker ignores a helper that has nothing to erase; the auths entry below is still removed.
    }
  }
  const found = findAuthEntry(config, registry);
  if (found !== undefined) {
    const auths = { ...((config.raw['auths'] as Record<string, unknown> | undefined) ?? {}) };
    delete auths[found[0]];
    await writeDockerConfig(configPath, { ...config.raw, auths });
    removed = true;
  }
  return removed;
}
