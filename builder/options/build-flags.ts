import { isIP } from 'node:net';
import { parseSize } from './units.js';
import { UserError } from '../../common/index.js';

/** `--network`: the default network of every RUN that does not name one. */
export type NetworkMode = 'default' | 'none' | 'host';

/** Reads `--network default|none|host` (buildx's values; a named network needs a daemon tsbuild does not have). */
export function parseNetwork(text: string | undefined): NetworkMode | undefined {
  if (text === undefined) return undefined;
  if (text === 'default' || text === 'none' || text === 'host') return text;
  throw new UserError('INVALID_ARGUMENT', `--network ${text} is not supported`, 'use --network default, none or host (host needs --allow network.host)');
}

/** Reads `--add-host NAME:IP` (also `NAME=IP`, and `host-gateway` refused) into /etc/hosts lines `IP<TAB>NAME`. */
export function parseAddHosts(values: string[]): string[] {
  return values.map((text) => {
    // docker accepts `name:ip` and `name=ip`; an IPv6 address holds colons, so split at the first separator only.
    const m = /^([^:=]+)[:=](.+)$/.exec(text);
    const name = m?.[1]?.trim();
    const ip = m?.[2]?.trim().replace(/^\[(.*)\]$/, '$1');
    if (!name || !ip) throw new UserError('INVALID_ARGUMENT', `--add-host ${JSON.stringify(text)}: expected NAME:IP`, 'e.g. --add-host db.local:10.0.0.5');
    if (ip === 'host-gateway') throw new UserError('INVALID_ARGUMENT', `--add-host ${text}: host-gateway is not supported`, 'RUN shares the host network by default; write the address itself');
    if (isIP(ip) === 0) throw new UserError('INVALID_ARGUMENT', `--add-host ${JSON.stringify(text)}: ${JSON.stringify(ip)} is not an IP address`, 'e.g. --add-host db.local:10.0.0.5');
    return `${ip}\t${name}`;
  });
}

/** RUN's /dev/shm size, fixed in the native helper (worker/native/system.c). */
const SHM_BYTES = 64 * 1024 * 1024;

/** Checks `--shm-size`: the helper mounts a fixed 64 MiB /dev/shm, so only that size is accepted. */
export function checkShmSize(text: string | undefined): void {
  if (text === undefined) return;
  if (parseSize(text) === SHM_BYTES) return;
  throw new UserError('INVALID_ARGUMENT', `--shm-size ${text} is not supported: RUN's /dev/shm is a fixed 64 MiB tmpfs`, 'drop --shm-size (64m is what every RUN gets)');
}

/** `--ulimit`: parsed so a typo is named, then refused, since the native helper sets no rlimits. */
export function checkUlimits(values: string[]): void {
  for (const text of values) {
    if (!/^[a-z]+=-?\d+(:-?\d+)?$/.test(text)) throw new UserError('INVALID_ARGUMENT', `invalid --ulimit ${JSON.stringify(text)}`, 'write NAME=SOFT[:HARD], e.g. nofile=1024:2048');
    throw new UserError('INVALID_ARGUMENT', `--ulimit ${text} is not supported: the RUN helper does not set resource limits`, 'drop --ulimit (RUN inherits the limits tsbuild runs with)');
  }
}

/** `--ssh`: agent forwarding into RUN --mount=type=ssh is not implemented; refused by name. */
export function checkSsh(values: string[]): void {
  for (const text of values) {
    if (!/^[A-Za-z0-9_.-]+(=.*)?$/.test(text)) throw new UserError('INVALID_ARGUMENT', `invalid --ssh ${JSON.stringify(text)}`, 'write default or ID=SOCKET');
    throw new UserError('INVALID_ARGUMENT', `--ssh ${text} is not supported yet: tsbuild does not forward an SSH agent into RUN --mount=type=ssh`,
      'pass a token with --secret id=NAME,env=VAR and RUN --mount=type=secret instead');
  }
}

/**
 * `--build-context NAME=VALUE`: a named context replaces `FROM NAME` and `COPY --from=NAME`, as in BuildKit. Only
 * `docker-image://REF` is implemented (an image in place of another); local directories and OCI layouts are refused
 * by name. Returns NAME → image reference.
 */
export function parseBuildContexts(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of values) {
    const eq = text.indexOf('=');
    const name = eq > 0 ? text.slice(0, eq).trim() : '';
    const value = eq > 0 ? text.slice(eq + 1).trim() : '';
    if (!name || !value) throw new UserError('INVALID_ARGUMENT', `invalid --build-context ${JSON.stringify(text)}`, 'write NAME=docker-image://REF');
    if (value.startsWith('docker-image://')) { out[name] = value.slice('docker-image://'.length); continue; }
    const kind = value.startsWith('oci-layout://') ? 'an OCI layout (oci-layout://)' : value.startsWith('target:') ? 'a bake target' : /^(https?|git):\/\//.test(value) || value.endsWith('.git') ? 'a remote context' : 'a local directory';
    throw new UserError('INVALID_ARGUMENT', `--build-context ${name}=${value}: ${kind} as a named context is not supported yet`,
      'only NAME=docker-image://REF is; for files, COPY them from the main context or publish them as an image');
  }
  return out;
}

/** The reference to resolve for `ref` as the Dockerfile wrote it: a named context's image when one names it. */
export function namedImage(ref: string, contexts: Record<string, string>): string {
  // BuildKit matches the name as written and with `docker.io/library/` implied; both forms are looked up.
  return contexts[ref] ?? contexts[ref.replace(/^(docker\.io\/)?(library\/)?/, '')] ?? ref;
}
