import type { Command } from 'commander';
import {
  dockerConfigPath, login, logout, staticCredentials,
} from '../../registry/index.js';
import { UserError } from '../../common/index.js';
import { addRegistryFlags, withRegistry, type RegistryFlags } from './registry-flags.js';

/** docker's server argument to a registry host: `https://host:5000/v2/` → `host:5000`; none means Docker Hub. */
export function loginServer(server: string | undefined): string {
  if (server === undefined || server === '') return 'docker.io';
  const host = server.replace(/^https?:\/\//, '').split('/')[0] ?? '';
  if (host === '') throw new UserError('INVALID_ARGUMENT', `invalid registry server ${JSON.stringify(server)}`, 'give the registry as host[:port], e.g. localhost:5000');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

async function readPasswordStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  // As docker: one trailing newline (from `echo`) is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

interface LoginFlags extends RegistryFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

async function loginAction(program: Command, server: string | undefined, flags: LoginFlags): Promise<void> {
  const registry = loginServer(server);
  if (flags.username === undefined || flags.username === '') {
    throw new UserError('INVALID_ARGUMENT', 'login needs a username', `pass -u USER, e.g. tsbuild login ${registry} -u USER --password-stdin`);
  }
  if (flags.password !== undefined && flags.passwordStdin === true) {
    throw new UserError('INVALID_ARGUMENT', '--password and --password-stdin are mutually exclusive', 'use --password-stdin and pipe the password in');
  }
  let password: string;
  if (flags.passwordStdin === true) password = await readPasswordStdin();
  else if (flags.password !== undefined) {
    process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    password = flags.password;
  } else {
    throw new UserError('INVALID_ARGUMENT', 'login needs a password', `pipe it in: echo "$TOKEN" | tsbuild login ${registry} -u ${flags.username} --password-stdin`);
  }
  if (password === '') throw new UserError('INVALID_ARGUMENT', 'the password is empty', 'pipe a non-empty password or token to --password-stdin');
  // As docker login: the credentials are tried against the registry first; only accepted ones are saved.
  const tried = staticCredentials({ username: flags.username, password }, `the credentials given to tsbuild login for ${flags.username}`);
  await withRegistry(program, flags, (client) => client.checkAuth(registry), tried);
  await login(registry, flags.username, password);
  process.stdout.write(`Login Succeeded (credentials saved in ${dockerConfigPath()})\n`);
}

/** `tsbuild login` and `tsbuild logout`: credentials in docker's config.json ($DOCKER_CONFIG), shared with docker. */
export function registerAuth(program: Command): void {
  addRegistryFlags(program.command('login').argument('[server]', 'registry host[:port] (default: Docker Hub)').description('log in to a registry; the credentials are checked before they are saved'))
    .option('-u, --username <user>', 'username')
    .option('-p, --password <password>', 'password or token (prefer --password-stdin)')
    .option('--password-stdin', 'read the password or token from stdin')
    .action((server: string | undefined, flags: LoginFlags) => loginAction(program, server, flags));

  program.command('logout').argument('[server]', 'registry host[:port] (default: Docker Hub)').description('remove the saved credentials of a registry')
    .option('--debug', 'print the cause chain of errors')
    .action(async (server: string | undefined) => {
      const registry = loginServer(server);
      const removed = await logout(registry);
      process.stdout.write(removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
    });
}
