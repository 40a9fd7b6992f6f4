import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HelperMount } from './helper-spec.js';

/**
 * Writes /etc/hosts, /etc/hostname and /etc/resolv.conf for one step into stateDir and returns the binds that put
 * them in the container. They are bind mounts (read-write onto the stateDir copies) so nothing a step writes to
 * them reaches its layer, as with `docker build`. `resolvConf` replaces the host's resolv.conf (the build network
 * has its own DNS forwarder). Synchronous: three small files in the step's private state dir (tens of µs).
 */
export function prepareEtcFiles(stateDir: string, hostname: string, resolvConf?: string, extraHosts: readonly string[] = []): HelperMount[] {
  // extraHosts: `--add-host NAME:IP` entries, already `IP<TAB>NAME` lines, appended as docker does.
  const hosts = `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n${extraHosts.map((l) => `${l}\n`).join('')}`;
  let resolv = resolvConf ?? '';
  try {
    // Docker always provides one, whatever the network: the host's, so name lookups behave as on the host.
    if (resolvConf === undefined) resolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    resolv = '';
  }
  writeFileSync(join(stateDir, 'hosts'), hosts, { mode: 0o644 });
  writeFileSync(join(stateDir, 'hostname'), `${hostname}\n`, { mode: 0o644 });
  writeFileSync(join(stateDir, 'resolv.conf'), resolv, { mode: 0o644 });
  return ['hosts', 'hostname', 'resolv.conf'].map((name) => ({
    kind: 'bind', srcRoot: stateDir, srcPath: name, target: `/etc/${name}`, readonly: false,
  }));
}
