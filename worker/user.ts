import type { Accounts } from './confined/index.js';
import { numericId } from './confined/index.js';

/** A numeric owner. */
export interface Owner { uid: number; gid: number }

/** An owner, and the names the image does not define that were taken as 0 or left out (BuildKit says nothing). */
export interface ResolvedOwner { owner: Owner; unknown: string[] }

/**
 * `user[:group]` as BuildKit's readUser resolves it, for COPY/ADD --chown and the directories WORKDIR creates
 * (solver/llbsolver/ops/user_linux.go, with client/llb's WithUser splitting the spec): a numeric user is that uid with
 * the same number as gid; a name takes its /etc/passwd uid and primary gid, or 0:0 when the image has no such user; a
 * group then sets the gid: numeric as given, a name from /etc/group (kept as it was when there is none), and an empty
 * group (`user:`) is gid 0. The image's accounts are read only when a name needs them. '' is root.
 */
export async function resolveOwner(spec: string, accounts: () => Promise<Accounts>): Promise<ResolvedOwner> {
  const unknown: string[] = [];
  if (spec === '') return { owner: { uid: 0, gid: 0 }, unknown };
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const group = colon < 0 ? undefined : spec.slice(colon + 1);
  const owner: Owner = { uid: 0, gid: 0 };
  const uid = numericId(user);
  if (uid !== undefined) {
    owner.uid = uid;
    owner.gid = uid;
  } else {
    const entry = (await accounts()).passwd.find((e) => e.name === user);
    if (entry === undefined) unknown.push(`user ${JSON.stringify(user)} (not in /etc/passwd)`);
    else Object.assign(owner, { uid: entry.uid, gid: entry.gid });
  }
  if (group !== undefined) {
    const gid = group === '' ? 0 : numericId(group);
    const entry = gid === undefined ? (await accounts()).group.find((e) => e.name === group) : undefined;
    if (gid === undefined && entry === undefined) unknown.push(`group ${JSON.stringify(group)} (not in /etc/group)`);
    owner.gid = gid ?? entry?.gid ?? owner.gid;
  }
  return { owner, unknown };
}
