import { CopyError } from './errors.js';

/** Computes the mode a copied entry gets from its source mode (permission bits incl. setuid/setgid/sticky). */
export type ModeMapper = (sourceMode: number, isDir: boolean) => number;

const OCTAL = /^[0-7]{1,4}$/;
const CLAUSE = /^([ugoa]*)([-+=])([rwxXst]*)$/;

/**
 * Parses COPY --chmod: octal (`755`, `0644`), applied as is to every copied file and directory, or symbolic
 * (`u+x,go-w`, `a=rX`) as chmod(1) understands it (BuildKit accepts symbolic modes since Dockerfile 1.14), applied to
 * each entry's own source mode. Undefined means: keep the source modes.
 */
/**
 * The mode of the parent directories a COPY with a numeric --chmod creates, as fsutil's Copy makes them in BuildKit
 * (MkdirAll with CopyInfo.Mode, set only for an octal --chmod): the permission bits exactly, whatever the umask
 * (--chmod=777 gives 0777: MkdirAll chmods what it made, moby/buildkit#6801). Undefined for a symbolic or no --chmod
 * (parents are then 0755).
 */
export function parentDirMode(spec: string | undefined): number | undefined {
  return spec !== undefined && OCTAL.test(spec) ? parseInt(spec, 8) & 0o777 : undefined;
}

export function parseChmod(spec: string | undefined): ModeMapper | undefined {
  if (spec === undefined || spec === '') return undefined;
  if (OCTAL.test(spec)) {
    const mode = parseInt(spec, 8);
    return () => mode;
  }
  const clauses = spec.split(',').map((c) => {
    const m = CLAUSE.exec(c);
    if (m === null) {
      throw new CopyError('INVALID_ARGUMENT', `invalid --chmod value ${JSON.stringify(spec)}`, 'use an octal mode such as --chmod=755, or a symbolic one such as --chmod=u+x,go-w');
    }
    return { who: m[1] ?? '', op: m[2] ?? '+', perms: m[3] ?? '' };
  });
  return (source, isDir) => clauses.reduce((mode, c) => applyClause(mode, c.who === '' ? 'a' : c.who, c.op, c.perms, isDir), source & 0o7777);
}

function applyClause(mode: number, who: string, op: string, perms: string, isDir: boolean): number {
  const all = who.includes('a');
  const u = all || who.includes('u');
  const g = all || who.includes('g');
  const o = all || who.includes('o');
  const anyExec = (mode & 0o111) !== 0;
  let bits = 0;
  for (const p of perms) {
    const rwx = p === 'r' ? 4 : p === 'w' ? 2 : p === 'x' || (p === 'X' && (isDir || anyExec)) ? 1 : 0;
    if (u) bits |= rwx << 6;
    if (g) bits |= rwx << 3;
    if (o) bits |= rwx;
    if (p === 's') bits |= (u ? 0o4000 : 0) | (g ? 0o2000 : 0);
    if (p === 't') bits |= 0o1000;
  }
  const mask = (u ? 0o4700 : 0) | (g ? 0o2070 : 0) | (o ? 0o0007 : 0) | 0o1000;
  if (op === '+') return mode | bits;
  if (op === '-') return mode & ~bits;
  return (mode & ~mask) | bits;
}
