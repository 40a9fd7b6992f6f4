import { spawn } from 'node:child_process';
import { fsattrPath } from '../confined/index.js';

// Node has no xattr API. Reading them for a layer export goes through worker/native/fsattr (plain C, built by the
// Makefile), one process per batch: a layer with 10k entries costs one spawn of a ~1 ms program. Writes of any
// kind go through the confined writer (worker/confined). (It replaced a
// python3 script whose start-up alone cost 30–350 ms per RUN step on these hosts; see bench/RESULTS.md.)

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

function runFsattr(mode: 'read', input: Buffer): Promise<Buffer> {
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
