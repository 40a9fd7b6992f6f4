import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Node has no xattr or mknod API. The few calls we need go through worker/native/fsattr (plain C, built by the
// Makefile), one process per batch: a layer with 10k whiteouts costs one spawn of a ~1 ms program. (It replaced a
// python3 script whose start-up alone cost 30–350 ms per RUN step on these hosts; see bench/RESULTS.md.)

/** One change Node cannot make itself. */
export type SpecialOp =
  | { op: 'setxattr'; path: string; name: string; value: Buffer }
  | { op: 'mknod'; path: string; kind: 'char' | 'block' | 'fifo'; mode: number; major: number; minor: number };

/** The fsattr binary: `TSBUILD_FSATTR` when set, else worker/native/fsattr/tsbuild-fsattr of this checkout. */
function fsattrPath(): string {
  const fromEnv = process.env['TSBUILD_FSATTR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const candidates = ['../../../worker/native/fsattr/tsbuild-fsattr', '../native/fsattr/tsbuild-fsattr']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`tsbuild-fsattr not found (looked at ${candidates.join(', ')}); run make native`);
  return found;
}

/** NUL-separated fields, the only framing that carries any path byte for byte. */
function nulFields(fields: string[]): Buffer {
  for (const f of fields) if (f.includes('\0')) throw new Error(`fsattr field contains NUL: ${JSON.stringify(f)}`);
  return Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
}

/** The extended attributes of each path (not following symlinks); paths without any are absent from the map. */
export async function readXattrs(paths: string[]): Promise<Map<string, Record<string, Buffer>>> {
  const result = new Map<string, Record<string, Buffer>>();
  if (paths.length === 0) return result;
  const out = await runFsattr('read', nulFields(paths));
  let current: Record<string, Buffer> | undefined;
  let name: string | undefined;
  for (const field of out.toString('utf8').split('\0')) {
    if (field === '') continue;
    const tag = field[0];
    const rest = field.slice(1);
    if (tag === 'P') { current = {}; result.set(rest, current); }
    else if (tag === 'N') name = rest;
    else if (tag === 'V' && current && name !== undefined) { current[name] = Buffer.from(rest, 'hex'); name = undefined; }
    else throw new Error(`tsbuild-fsattr: malformed output field ${JSON.stringify(field.slice(0, 40))}`);
  }
  return result;
}

/** Carries out `ops` in order: set xattrs, create device nodes and whiteouts. */
export async function applySpecial(ops: SpecialOp[]): Promise<void> {
  if (ops.length === 0) return;
  const fields = ops.flatMap((o) => o.op === 'setxattr'
    ? ['x', o.path, o.name, o.value.toString('hex')]
    : ['m', o.path, o.kind === 'char' ? 'c' : o.kind === 'block' ? 'b' : 'p', (o.mode & 0o7777).toString(8), String(o.major), String(o.minor)]);
  await runFsattr('write', nulFields(fields));
}

function runFsattr(mode: 'read' | 'write', input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(fsattrPath(), [mode], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new Error('cannot run tsbuild-fsattr; run make native', { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`tsbuild-fsattr ${mode} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-1)[0] ?? ''}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
