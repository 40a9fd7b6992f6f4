import type { Accounts } from './confined/index.js';
import { numericId } from './confined/index.js';

/** A numeric owner. */
export interface Owner { uid: number; gid: number }

/**
 * WORKDIR's owner policy: resolves a Dockerfile USER (`name`, `uid`, `uid:gid`, `name:group`; '' is root) against
 * the image's accounts (read with readAccounts). Names the image does not define fall back to root, as BuildKit
 * does for WORKDIR ownership; a numeric uid takes its passwd gid when it has an entry.
 */
export function resolveOwner(accounts: Accounts, user: string): Owner {
  if (user === '') return { uid: 0, gid: 0 };
  const [u = '', g] = user.split(':', 2);
  const uidNum = numericId(u);
  const entry = accounts.passwd.find((e) => (uidNum === undefined ? e.name === u : e.uid === uidNum));
  const uid = uidNum ?? entry?.uid ?? 0;
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== '') gid = numericId(g) ?? accounts.group.find((e) => e.name === g)?.gid ?? 0;
  return { uid, gid };
}
