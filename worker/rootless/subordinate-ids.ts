// /etc/subuid and /etc/subgid (subuid(5)): `owner:start:count` lines, owner a login name or a numeric uid. They are
// what newuidmap/newgidmap (setuid root, Debian's `uidmap`) let an unprivileged user map into a user namespace.

/** A range of host ids a user may map: host ids start .. start+count-1. */
export interface IdRange { start: number; count: number }

/** The ranges `subidText` grants to the user named `name` or numbered `id`, in file order. */
export function subordinateRanges(subidText: string, name: string, id: number): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of subidText.split('\n')) {
    const fields = line.trim().split(':');
    if (fields.length !== 3 || line.trim().startsWith('#')) continue;
    const [owner, start, count] = fields as [string, string, string];
    if (owner !== name && owner !== String(id)) continue;
    if (!/^\d+$/.test(start) || !/^\d+$/.test(count) || Number(count) === 0) continue;
    ranges.push({ start: Number(start), count: Number(count) });
  }
  return ranges;
}
