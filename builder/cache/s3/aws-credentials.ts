import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { S3Credentials } from './s3-cache.js';

// The credentials of a `type=s3` cache entry, found where BuildKit's AWS SDK (aws-sdk-go-v2's LoadDefaultConfig) looks
// that tsbuild can follow: the entry's attributes, the environment, then the shared files' profile (AWS_PROFILE, else
// `default`; ~/.aws/credentials over ~/.aws/config, or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE). What needs
// a call to AWS first (role_arn, SSO, web identity, credential_process, the container or instance endpoints) is not
// followed: the entry is then without credentials, and the reason says which source it would have needed.

/** Credentials found, or why none were (for the warning or refusal that names it). */
export type AwsCredentialsLookup = { credentials: S3Credentials; source: string } | { credentials?: undefined; why: string };

/** The profile keys that get credentials by a call tsbuild does not make. */
const INDIRECT = ['role_arn', 'sso_session', 'sso_start_url', 'credential_process', 'web_identity_token_file'];

/** The credentials of an s3 entry with attributes `attrs`, in a process with environment `env`. */
export function awsCredentials(attrs: Record<string, string>, env: NodeJS.ProcessEnv): AwsCredentialsLookup {
  // BuildKit takes the attributes only as a pair; the session token then comes from its attribute alone.
  const keyId = attrs['access_key_id'];
  const secret = attrs['secret_access_key'];
  if (keyId && secret) return { credentials: { accessKeyId: keyId, secretAccessKey: secret, ...(attrs['session_token'] ? { sessionToken: attrs['session_token'] } : {}) }, source: 'attributes' };
  const envId = env['AWS_ACCESS_KEY_ID'] || env['AWS_ACCESS_KEY'];
  const envSecret = env['AWS_SECRET_ACCESS_KEY'] || env['AWS_SECRET_KEY'];
  if (envId && envSecret) return { credentials: { accessKeyId: envId, secretAccessKey: envSecret, ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}) }, source: 'environment' };
  return profileCredentials(env);
}

function profileCredentials(env: NodeJS.ProcessEnv): AwsCredentialsLookup {
  const home = env['HOME'] || homedir();
  const credentialsFile = env['AWS_SHARED_CREDENTIALS_FILE'] || join(home, '.aws', 'credentials');
  const configFile = env['AWS_CONFIG_FILE'] || join(home, '.aws', 'config');
  const name = env['AWS_PROFILE'] || 'default';
  // The credentials file names a profile `[NAME]`; the config file `[profile NAME]` (and `[default]`).
  const fromCredentials = readSections(credentialsFile)?.get(name);
  const config = readSections(configFile);
  const fromConfig = config?.get(`profile ${name}`) ?? (name === 'default' ? config?.get('default') : undefined);
  const profile = new Map([...(fromConfig ?? []), ...(fromCredentials ?? [])]);
  const keyId = profile.get('aws_access_key_id');
  const secret = profile.get('aws_secret_access_key');
  if (keyId && secret) {
    const token = profile.get('aws_session_token');
    return { credentials: { accessKeyId: keyId, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) }, source: `profile ${name}` };
  }
  const indirect = INDIRECT.find((k) => profile.has(k));
  if (indirect !== undefined) return { why: `AWS profile ${name} gets its credentials by ${indirect}, which tsbuild does not follow` };
  const envIndirect = ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'].find((k) => env[k]);
  if (envIndirect !== undefined) return { why: `${envIndirect} names credentials tsbuild does not fetch` };
  if (env['AWS_PROFILE'] && fromCredentials === undefined && fromConfig === undefined) return { why: `AWS_PROFILE=${name} is in neither ${credentialsFile} nor ${configFile}` };
  return { why: 'no AWS credentials (access_key_id and secret_access_key, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws)' };
}

/** The sections of an AWS shared file, or undefined when it cannot be read (absent, as usual). */
function readSections(file: string): Map<string, Map<string, string>> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseAwsIni(text);
}

/**
 * The sections of an AWS shared config or credentials file, as the SDKs read them: `[NAME]` headers, `key = value`
 * lines (keys lower-cased), whole-line `#` and `;` comments, and indented lines under a `key =` (the nested
 * settings of `s3 =`), which hold no credential and are skipped. Hand-written: npm's `ini` reads a dotted section
 * name (`[profile ci.prod]`) as nested objects and `key[]` as arrays, which these files do not mean.
 */
export function parseAwsIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]*)\]/.exec(line);
    if (header) {
      const name = (header[1] ?? '').trim().replace(/\s+/g, ' ');
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      continue;
    }
    if (/^\s/.test(raw)) continue;
    const eq = line.indexOf('=');
    if (eq < 0 || current === undefined) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}
