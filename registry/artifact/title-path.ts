import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from '../../common/index.js';

/** The annotation ORAS and the image spec use to name a layer's file (image-spec annotations.md). */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/**
 * Where a layer titled `title` is written inside `dir`, or an INVALID_LAYER error when the title could land anywhere
 * else: absolute paths, `..` segments, NUL, empty or `.` names. A registry's manifest is untrusted input, and a title
 * is a path chosen by whoever pushed it (the same attack as a tar entry named `../../etc/passwd`).
 */
export function titlePath(dir: string, title: string, ref: string): string {
  const refuse = (why: string): UserError =>
    new UserError('INVALID_LAYER', `artifact ${ref}: layer title ${JSON.stringify(title)} ${why}`, 'the artifact was pushed with an unsafe file name; nothing outside the output directory was written');
  if (title === '' || title.includes('\0')) throw refuse('is empty or contains NUL');
  if (isAbsolute(title) || title.startsWith('\\')) throw refuse('is an absolute path');
  const segments = title.split(/[/\\]/);
  if (segments.includes('..')) throw refuse('has a ".." segment');
  if (segments.every((s) => s === '' || s === '.')) throw refuse('names no file');
  const root = resolve(dir);
  const target = resolve(root, title);
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw refuse('resolves outside the output directory');
  return target;
}
