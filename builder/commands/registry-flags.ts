import type { Command } from 'commander';
import type { CredentialSource, RegistryClient } from '../../registry/index.js';
import { rootOf } from './global-options.js';
import { withRoot, type RootOptions } from './root.js';

/** Flags every registry-talking command takes besides the references themselves. */
export interface RegistryFlags {
  certsDir?: string;
  insecureRegistry: string[];
  debug?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds `--certs-dir`, `--insecure-registry` and `--debug` to a command. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('--certs-dir <dir>', "per-registry CAs as docker keeps them: DIR/HOST[:PORT]/*.crt (default /etc/docker/certs.d); a local registry with a directory there is spoken to over TLS")
    .option('--insecure-registry <host>', 'a registry host[:port] reached with unverified TLS, or plain HTTP when it speaks no TLS (as docker); repeatable', collect, [])
    .option('--debug', 'print the cause chain of errors');
}

/** The root options the flags ask for; credentials default to docker's config.json ($DOCKER_CONFIG). */
export function registryOptions(flags: RegistryFlags, credentials?: CredentialSource): RootOptions {
  return {
    insecureRegistries: flags.insecureRegistry,
    ...(flags.certsDir !== undefined ? { certsDir: flags.certsDir } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
  };
}

/** Runs `fn` with the registry client of the root (`--root` of `program`), configured from the flags, closed after. */
export async function withRegistry<T>(
  program: Command, flags: RegistryFlags, fn: (client: RegistryClient) => Promise<T>, credentials?: CredentialSource,
): Promise<T> {
  return withRoot(rootOf(program), registryOptions(flags, credentials), async (root) => fn(await root.registry()));
}
