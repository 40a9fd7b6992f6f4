import { readFileSync } from 'node:fs';
import type { HelperMount } from './helper-spec.js';

/** Where etcFileMounts puts its files, in its order: known before the step's network is. */
export const ETC_FILE_TARGETS: readonly string[] = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf for one step, as 'file' mounts: the helper writes them into its
 * private scratch tmpfs and binds them read-write, so nothing a step writes to them reaches its layer (as with
 * `docker build`) and nothing is written to or removed from a disk per step. `resolvConf` replaces the host's
 * resolv.conf (the build network has its own DNS forwarder).
 */
export function etcFileMounts(hostname: string, resolvConf?: string, extraHosts: readonly string[] = []): HelperMount[] {
  // extraHosts: `--add-host NAME:IP` entries, already `IP<TAB>NAME` lines, appended as docker does.
  const hosts = `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n${extraHosts.map((l) => `${l}\n`).join('')}`;
  let resolv = resolvConf ?? '';
  try {
    // Docker always provides one, whatever the network: the host's, so name lookups behave as on the host.
    if (resolvConf === undefined) resolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    resolv = '';
  }
  const contents = [hosts, `${hostname}\n`, resolv];
  return ETC_FILE_TARGETS.map((target, i) => ({ kind: 'file', target, content: contents[i] ?? '' }));
}
