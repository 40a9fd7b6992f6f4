import { UserError } from '../../common/index.js';
import { subordinateRanges, type IdRange } from './subordinate-ids.js';

// What an unprivileged user needs before tsbuild can re-run itself in a user namespace (builder/rootless.ts), each
// missing piece a ROOTLESS_UNAVAILABLE error whose hint says what to install or configure. They fail a build the way
// a missing emulator does (exit status 1): the command line was right, the machine is not set up for it.

/** A ROOTLESS_UNAVAILABLE error: `message` says what is missing, `hint` how to get it. */
export function rootlessUnavailable(message: string, hint: string, options?: ErrorOptions): UserError {
  return new UserError('ROOTLESS_UNAVAILABLE', `rootless: ${message}`, hint, options);
}

/** The first range `file` (/etc/subuid or /etc/subgid, its text `text`) grants the user; throws when there is none. */
export function firstSubordinateRange(file: string, text: string, name: string, id: number): IdRange {
  const [range] = subordinateRanges(text, name, id);
  if (range === undefined) {
    throw rootlessUnavailable(`${file} grants no subordinate ids to ${name} (uid ${id})`,
      `as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name} (or add "${name}:100000:65536" to /etc/subuid and /etc/subgid)`);
  }
  return range;
}

/**
 * Throws when the kernel's settings forbid an unprivileged user namespace: `maxUserNamespaces` is
 * /proc/sys/user/max_user_namespaces, `unprivilegedClone` Debian's and Ubuntu's /proc/sys/kernel/unprivileged_userns_clone
 * (undefined where a file is absent: no such limit).
 */
export function checkUserNamespaces(maxUserNamespaces: string | undefined, unprivilegedClone: string | undefined): void {
  if (maxUserNamespaces?.trim() === '0') {
    throw rootlessUnavailable('user namespaces are disabled (user.max_user_namespaces = 0)', 'as root: sysctl -w user.max_user_namespaces=15000');
  }
  if (unprivilegedClone?.trim() === '0') {
    throw rootlessUnavailable('unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)',
      'as root: sysctl -w kernel.unprivileged_userns_clone=1');
  }
}
