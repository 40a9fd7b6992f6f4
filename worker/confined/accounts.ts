import type { RootSession } from './root-session.js';

/** One /etc/passwd line: name:x:uid:gid:gecos:home:shell. */
export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
/** One /etc/group line: name:x:gid:member,member. */
export interface GroupEntry { name: string; gid: number; members: string[] }
/** An image's users and groups. */
export interface Accounts { passwd: PasswdEntry[]; group: GroupEntry[] }

// /etc/passwd and /etc/group are documents, not streams: a bigger one is refused rather than read whole.
const MAX_SIZE = 4 * 1024 * 1024;

function id(s: string | undefined): number | undefined {
  return s !== undefined && /^\d+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined;
}

/** Parses passwd text; comment and malformed lines are skipped, as libc's getpwent does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = id(f[2]);
    if (f.length < 4 || f[0] === '' || uid === undefined) continue;
    out.push({ name: f[0] ?? '', uid, gid: id(f[3]) ?? 0, home: f[5] ?? '' });
  }
  return out;
}

/** Parses group text; comment and malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = id(f[2]);
    if (f.length < 3 || f[0] === '' || gid === undefined) continue;
    out.push({ name: f[0] ?? '', gid, members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return out;
}

/**
 * The one reader of an image's /etc/passwd and /etc/group: through the confined writer's resolver (openat2 in the
 * root), so a symlinked /etc or passwd stays in the image. A missing file reads as empty (scratch, distroless).
 */
export async function readAccounts(session: RootSession): Promise<Accounts> {
  const passwd = await session.readFile('etc/passwd', MAX_SIZE);
  const group = await session.readFile('etc/group', MAX_SIZE);
  return { passwd: parsePasswd(passwd?.toString('utf8') ?? ''), group: parseGroup(group?.toString('utf8') ?? '') };
}

/** A numeric id when `s` is one (a Dockerfile USER/--chown part), else undefined. */
export function numericId(s: string): number | undefined {
  return id(s);
}
