// The device allow-list of a RUN step: Docker's default (moby's DefaultLinuxSpec denies everything, then runc's
// specconv.AllowedDevices opens these). Creating any node is allowed (`m`), as in Docker; opening one needs a rule,
// so a block device made with mknod, or shipped in a base layer, cannot be read.

/** One cgroup device rule: type, major, minor (undefined = any, the `*` of devices.allow) and access (r, w, m). */
export interface DeviceRule { type: 'a' | 'b' | 'c'; major?: number; minor?: number; access: string }

/** Docker's default: mknod of anything, and rwm on the nodes a container's /dev holds (plus /dev/net/tun). */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { type: 'c', access: 'm' },                        // mknod of any character device …
  { type: 'b', access: 'm' },                        // … and any block device; opening them is another matter
  { type: 'c', major: 1, minor: 3, access: 'rwm' },  // /dev/null
  { type: 'c', major: 1, minor: 5, access: 'rwm' },  // /dev/zero
  { type: 'c', major: 1, minor: 7, access: 'rwm' },  // /dev/full
  { type: 'c', major: 1, minor: 8, access: 'rwm' },  // /dev/random
  { type: 'c', major: 1, minor: 9, access: 'rwm' },  // /dev/urandom
  { type: 'c', major: 5, minor: 0, access: 'rwm' },  // /dev/tty
  { type: 'c', major: 5, minor: 1, access: 'rwm' },  // /dev/console
  { type: 'c', major: 5, minor: 2, access: 'rwm' },  // /dev/ptmx
  { type: 'c', major: 136, access: 'rwm' },          // /dev/pts/*
  // runc >= 1.2.1 re-added tun/tap to the cgroup list (not the node): useless without CAP_NET_ADMIN, kept for parity.
  { type: 'c', major: 10, minor: 200, access: 'rwm' },
];

/** A rule as cgroup v1's devices.allow / devices.deny take it: `c 1:3 rwm`, `b *:* m`. */
export function deviceRuleLine(rule: DeviceRule): string {
  return `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
}
