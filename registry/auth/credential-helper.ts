import { spawn } from 'node:child_process';
import type { Credentials } from './credentials.js';
import { UserError } from '../../common/index.js';

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin, per docker-credential-helpers' protocol, and
 * returns its stdout. A `get` for a registry the helper does not know exits non-zero with "credentials not found".
 * The answer is stdout alone, as docker's client reads it (cmd.Output): a helper's notices on stderr are not part of
 * it; a failure is said on stdout by the protocol, on stderr by some helpers.
 */
export async function runCredentialHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  const program = `docker-credential-${helper}`;
  return await new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (err) =>
      reject(new UserError('REGISTRY_AUTH', `cannot run credential helper ${program}: ${err.message}`, `install ${program} or remove it from your docker config.json`, { cause: err })),
    );
    child.on('close', (status) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (status === 0) resolve(text);
      else reject(new HelperFailed(program, text || Buffer.concat(err).toString('utf8').trim()));
    });
    // A helper may exit without reading its input (one that answers from its own store): the EPIPE of that write is
    // no failure of ours; its status and output say how it went.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** A helper that ran but refused; `notFound` when it simply has no credentials for the host. */
export class HelperFailed extends Error {
  readonly notFound: boolean;
  constructor(program: string, output: string) {
    super(`${program} failed: ${output}`);
    this.notFound = /credentials not found/i.test(output);
  }
}

/** Asks a helper for a registry's credentials; undefined when it has none. */
export async function helperGet(helper: string, serverUrl: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await runCredentialHelper(helper, 'get', serverUrl);
  } catch (err) {
    if (err instanceof HelperFailed && err.notFound) return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never quoted: what a helper prints may be the secret itself.
    throw new UserError('REGISTRY_AUTH', `credential helper docker-credential-${helper} answered something that is not JSON for ${serverUrl}`,
      `check the helper: docker-credential-${helper} get should print {"Username": …, "Secret": …}`);
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { Username, Secret } = parsed as Record<string, unknown>;
  if (typeof Secret !== 'string' || Secret === '') return undefined;
  // docker: a username of "<token>" means the secret is an identity (refresh) token.
  if (Username === '<token>') return { identityToken: Secret };
  return { username: typeof Username === 'string' ? Username : '', password: Secret };
}
