import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

// Node has no xattr or mknod API, and this host has neither getfattr/setfattr (Debian `attr`) nor a native helper
// for them yet, so the few calls we need go through one short Python 3 process per batch (python3 is on Debian 12
// hosts by default). One process per layer, not per file: a layer with 10k whiteouts costs one spawn.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const SCRIPT = String.raw`
import base64, json, os, stat, sys
req = json.load(sys.stdin)
out = {}
if req["op"] == "read":
    for p in req["paths"]:
        try:
            names = os.listxattr(p, follow_symlinks=False)
        except OSError:
            continue
        vals = {}
        for n in names:
            try:
                vals[n] = base64.b64encode(os.getxattr(p, n, follow_symlinks=False)).decode()
            except OSError:
                pass
        if vals:
            out[p] = vals
else:
    for o in req["ops"]:
        if o["op"] == "setxattr":
            os.setxattr(o["path"], o["name"], base64.b64decode(o["value"]), follow_symlinks=False)
        elif o["op"] == "mknod":
            kinds = {"char": stat.S_IFCHR, "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}
            os.mknod(o["path"], kinds[o["kind"]] | o["mode"], os.makedev(o["major"], o["minor"]))
json.dump(out, sys.stdout)
`;

/** One change Node cannot make itself. */
export type SpecialOp =
  | { op: 'setxattr'; path: string; name: string; value: Buffer }
  | { op: 'mknod'; path: string; kind: 'char' | 'block' | 'fifo'; mode: number; major: number; minor: number };

/** The extended attributes of each path (not following symlinks); paths without any are absent from the map. */
export async function readXattrs(paths: string[]): Promise<Map<string, Record<string, Buffer>>> {
  const result = new Map<string, Record<string, Buffer>>();
  if (paths.length === 0) return result;
  const parsed: unknown = JSON.parse(await runPython({ op: 'read', paths }));
  if (parsed === null || typeof parsed !== 'object') throw new Error('xattr helper returned malformed output');
  for (const [path, vals] of Object.entries(parsed as Record<string, unknown>)) {
    const attrs: Record<string, Buffer> = {};
    for (const [name, b64] of Object.entries(vals as Record<string, unknown>)) {
      if (typeof b64 === 'string') attrs[name] = Buffer.from(b64, 'base64');
    }
    result.set(path, attrs);
  }
  return result;
}

/** Carries out `ops` in order: set xattrs, create device nodes and whiteouts. */
export async function applySpecial(ops: SpecialOp[]): Promise<void> {
  if (ops.length === 0) return;
  await runPython({ op: 'write', ops: ops.map((o) => (o.op === 'setxattr' ? { ...o, value: o.value.toString('base64') } : o)) });
}

function runPython(request: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new Error('cannot run python3 for xattr/mknod operations; install python3 (or the attr package)', { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`xattr/mknod helper failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-1)[0] ?? ''}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(request));
  });
}
