import { isUtf8 } from 'node:buffer';

// File names are bytes. Linux allows any but NUL and '/', and a RUN step can make names that are not UTF-8
// (`touch $'caf\xe9'`, a Latin-1 test fixture a package installs, a tarball unpacked as is); Go builders carry them
// byte for byte into the layer tar (archive/tar writes them as PAX `path` records). Node's fs gives a string for a name
// only by decoding it, so a name that is not UTF-8 comes back with U+FFFD in it and names nothing. Where a layer is
// walked, a name is therefore a string when its bytes are UTF-8 (nearly always, and what all other code expects) and
// the bytes themselves otherwise; node:fs takes either as a path.

/** A name or path: its UTF-8 text, or its bytes when they are not UTF-8. */
export type FsName = string | Buffer;

/** `bytes` as a name: the string when they are UTF-8, else the bytes. */
export function nameOf(bytes: Buffer): FsName {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes;
}

/** A directory's entries as read in bytes (`readdir(dir, { encoding: 'buffer' })`), sorted bytewise, as names. */
export function sortedNames(entries: Buffer[]): FsName[] {
  return entries.sort(Buffer.compare).map(nameOf);
}

/** The bytes of a name. */
export function nameBytes(name: FsName): Buffer {
  return typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
}

/** `parts` joined (no separator is added: pass it as a part), a string while every part is one. */
export function concatNames(...parts: FsName[]): FsName {
  return parts.every((p) => typeof p === 'string') ? parts.join('') : Buffer.concat(parts.map(nameBytes));
}

/** The text a name is shown as in a message (bytes that are not UTF-8 as \xNN). */
export function showName(name: FsName): string {
  if (typeof name === 'string') return name;
  let out = '';
  for (const b of name) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/** A Map key for a name: the string itself, or its bytes after a NUL (which no name holds, so no string collides). */
export function nameKey(name: FsName): string {
  return typeof name === 'string' ? name : `\0${name.toString('latin1')}`;
}

const SLASH = Buffer.from('/');

/** Path components joined with '/' (the inverse of `components`), a string while every part is one. */
export function joinComponents(parts: FsName[]): FsName {
  if (parts.every((p) => typeof p === 'string')) return parts.join('/');
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [nameBytes(p)] : [SLASH, nameBytes(p)])));
}

/** Where the last '/' of a name is (-1 when none). */
function lastSlash(name: FsName): number {
  return typeof name === 'string' ? name.lastIndexOf('/') : name.lastIndexOf(0x2f);
}

/** The part of a path after its last '/'. */
export function baseName(path: FsName): FsName {
  const at = lastSlash(path);
  return typeof path === 'string' ? path.slice(at + 1) : nameOf(path.subarray(at + 1));
}

/** The part of a path before its last '/' ('' when it has none). */
export function dirName(path: FsName): FsName {
  const at = lastSlash(path);
  if (at < 0) return '';
  return typeof path === 'string' ? path.slice(0, at) : nameOf(path.subarray(0, at));
}

/** A relative path's components. */
export function components(path: FsName): FsName[] {
  if (typeof path === 'string') return path.split('/');
  const out: FsName[] = [];
  let start = 0;
  for (let at = path.indexOf(0x2f); at !== -1; start = at + 1, at = path.indexOf(0x2f, start)) out.push(nameOf(path.subarray(start, at)));
  out.push(nameOf(path.subarray(start)));
  return out;
}
