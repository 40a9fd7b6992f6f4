import type { VertexId } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { CacheKeyParts } from './cache-key.js';
import type { ContentFiles } from './ports.js';

/**
 * One changed file behind a content miss; `before`/`after` absent when the file was added/removed. `mode`: the
 * same entry with other permission bits, nothing else changed (the worker tells, Worker.withModeChanges).
 */
export interface FileChange { path: string; before?: Digest; after?: Digest; mode?: { before: number; after: number } }

/** Why a step was not taken from the cache. Plain data: every report renders it. */
export type MissReason =
  // This step was never built before; `recipe`: it was, but keyed by a tsbuild whose key recipe (KEY_VERSION) differs.
  | { kind: 'new'; recipe?: { before: number; after: number } }
  | { kind: 'evicted' }                                         // same key as last time, but the result was pruned
  | { kind: 'no-cache'; flag?: string }                         // forced by `flag`: --no-cache (absent) or --no-cache-filter STAGE
  | { kind: 'instruction'; before: string; after: string }
  | { kind: 'arg'; name: string; before?: string; after?: string }
  | { kind: 'base'; ref: string; before: string; after: string }   // FROM resolved to another image digest
  // An input step changed: it missed, or (`moved`) it was a hit and the step builds on it instead of another now (a
  // step removed or moved before it).
  | { kind: 'parent'; vertex: VertexId; text: string; moved?: true }
  // `unlisted`: the previous build's per-file digests are not known (a remote cache record): which files, unknown.
  | { kind: 'content'; source: string; changes: FileChange[]; count: number; unlisted?: true }
  | { kind: 'platform'; before: string; after: string }
  // An earlier ENV/USER/SHELL changed what this RUN runs with: config-only steps pass their parent's key through
  // (as in BuildKit, where they never enter the graph), so the change shows up here, in the op itself.
  | { kind: 'setting'; setting: 'ENV' | 'USER' | 'WORKDIR' | 'SHELL'; name?: string; before?: string; after?: string }
  // The same instruction text with other options: the command line's (--add-host, --ulimit, --shm-size) or a RUN
  // flag's parts the text leaves out; `options` names each as its flag.
  | { kind: 'options'; options: string[] };

/** What explainMiss() needs besides the two key parts. */
export interface MissContext {
  /** The step was forced to run: true for --no-cache, the flag as given for `--no-cache-filter STAGE`. */
  noCache?: boolean | string;
  /** The vertices behind `now.inputs`, position for position, to name a changed parent; `cached`: it was a hit. */
  parents?: { id: VertexId; text: string; cached?: boolean }[];
  /** The image reference of a FROM step, to name it in a `base` reason. */
  ref?: string;
  /** Per-file digests behind `before.content` and `now.content`, to list the files that changed. */
  filesBefore?: ContentFiles;
  filesNow?: ContentFiles;
}

/** How many changed files a content reason lists; `count` still says how many there were. */
export const MAX_LISTED_CHANGES = 20;

/**
 * Why the step keyed by `now` missed, given the parts it had the last time it was built (`before`). Pure. Returns
 * at least one reason: when nothing differs, the result was evicted.
 */
export function explainMiss(before: CacheKeyParts | undefined, now: CacheKeyParts, ctx: MissContext = {}): MissReason[] {
  if (ctx.noCache === true) return [{ kind: 'no-cache' }];
  if (typeof ctx.noCache === 'string') return [{ kind: 'no-cache', flag: ctx.noCache }];
  if (before === undefined) return [{ kind: 'new' }];
  if (before.v !== now.v) return [{ kind: 'new', recipe: { before: before.v, after: now.v } }];
  const reasons: MissReason[] = [];
  if (before.platform !== now.platform) reasons.push({ kind: 'platform', before: before.platform, after: now.platform });
  const args = argReasons(before.args, now.args);
  const parents = parentReasons(before.inputs, now.inputs, ctx.parents ?? []);
  if (before.op !== now.op) {
    const base = baseReason(before.op, now.op, ctx.ref);
    if (base !== undefined) reasons.push(base);
    else {
      const settings = settingReasons(before.op, now.op, now.args);
      reasons.push(...settings);
      // An op that changed only through an arg or an inherited ENV/USER is explained by those reasons instead; RUN's
      // history text carries its args (`RUN |1 V=2 …`), so it is compared without them.
      const textChanged = stripArgPrefix(before.opText, before.args) !== stripArgPrefix(now.opText, now.args);
      if (textChanged && !settings.some((s) => s.kind === 'setting' && s.setting === 'SHELL')) {
        reasons.push({ kind: 'instruction', before: before.opText, after: now.opText });
      } else if (!textChanged && args.length === 0 && parents.length === 0 && settings.length === 0) {
        // Nothing the text shows changed: say which of the op's options did, not "X → X".
        reasons.push({ kind: 'options', options: changedOptions(before.op, now.op) });
      }
    }
  }
  reasons.push(...args, ...parents, ...contentReasons(before.content, now.content, ctx));
  return reasons.length > 0 ? reasons : [{ kind: 'evicted' }];
}

function argReasons(before: Record<string, string>, now: Record<string, string>): MissReason[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const out: MissReason[] = [];
  for (const name of names) {
    const b = before[name];
    const a = now[name];
    if (b === a) continue;
    const reason: MissReason = { kind: 'arg', name };
    if (b !== undefined) reason.before = b;
    if (a !== undefined) reason.after = a;
    out.push(reason);
  }
  return out;
}

function parentReasons(before: Digest[], now: Digest[], parents: { id: VertexId; text: string; cached?: boolean }[]): MissReason[] {
  const out: MissReason[] = [];
  for (let i = 0; i < now.length; i++) {
    if (before[i] === now[i]) continue;
    const parent = parents[i];
    out.push({ kind: 'parent', vertex: parent?.id ?? `input ${i}`, text: parent?.text ?? '', ...(parent?.cached === true ? { moved: true as const } : {}) });
  }
  return out;
}

function baseReason(beforeOp: string, nowOp: string, ref: string | undefined): MissReason | undefined {
  const b = imageDigest(beforeOp);
  const a = imageDigest(nowOp);
  if (b === undefined || a === undefined) return undefined;
  return { kind: 'base', ref: ref ?? '', before: b, after: a };
}

function imageDigest(op: string): string | undefined {
  const parsed: unknown = JSON.parse(op);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { kind, digest } = parsed as { kind?: unknown; digest?: unknown };
  return kind === 'image' && typeof digest === 'string' ? digest : undefined;
}

function contentReasons(before: Record<string, Digest>, now: Record<string, Digest>, ctx: MissContext): MissReason[] {
  const sources = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const out: MissReason[] = [];
  for (const source of sources) {
    // A source on one side only came or went with the instruction, whose own reason says so; listing every file of
    // it as added or removed would bury that.
    if (before[source] === now[source] || before[source] === undefined || now[source] === undefined) continue;
    // Without the previous side's files every file would read as added: say only that the content differs.
    const known = ctx.filesBefore?.[source];
    if (known === undefined) {
      out.push({ kind: 'content', source, changes: [], count: 0, unlisted: true });
      continue;
    }
    const changes = fileChanges(known, ctx.filesNow?.[source] ?? {});
    out.push({ kind: 'content', source, changes: changes.slice(0, MAX_LISTED_CHANGES), count: changes.length });
  }
  return out;
}

/** Files added, removed or changed between two per-path digest maps, sorted by path. */
function fileChanges(before: Record<string, Digest>, now: Record<string, Digest>): FileChange[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const out: FileChange[] = [];
  for (const path of paths) {
    const b = before[path];
    const a = now[path];
    if (b === a) continue;
    const change: FileChange = { path };
    if (b !== undefined) change.before = b;
    if (a !== undefined) change.after = a;
    out.push(change);
  }
  return out;
}

// An op field as the flag that sets it, for an `options` reason.
const OPTION_FLAGS: Record<string, string> = {
  extraHosts: '--add-host', ulimits: '--ulimit', shmSize: '--shm-size', cgroupParent: '--cgroup-parent', network: '--network', security: '--security', mounts: '--mount',
  chown: '--chown', chmod: '--chmod', link: '--link', exclude: '--exclude', parents: '--parents', checksum: '--checksum', keepGitDir: '--keep-git-dir', unpack: '--unpack',
};

/** The top-level fields two ops (canonical JSON) differ in, as flags where they have one. */
function changedOptions(beforeOp: string, nowOp: string): string[] {
  const b = JSON.parse(beforeOp) as Record<string, unknown>;
  const a = JSON.parse(nowOp) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).sort();
  return fields.map((f) => OPTION_FLAGS[f] ?? f);
}

/** RUN's history text without BuildKit's `|N k=v …` prefix of the build args in scope: the instruction as written. */
export function stripArgPrefix(text: string, args: Record<string, string>): string {
  const entries = Object.entries(args);
  const head = `RUN |${entries.length} `;
  if (entries.length === 0 || !text.startsWith(head)) return text;
  let rest = text.slice(head.length);
  for (let i = 0; i < entries.length; i++) {
    const hit = entries.find(([k, v]) => rest.startsWith(`${k}=${v} `));
    if (!hit) return text;
    rest = rest.slice(`${hit[0]}=${hit[1]} `.length);
  }
  return `RUN ${rest}`;
}

interface RuntimeFields { env?: unknown; user?: unknown; cwd?: unknown; argv?: unknown }

function runtimeFields(op: string): RuntimeFields | undefined {
  const parsed: unknown = JSON.parse(op);
  if (typeof parsed !== 'object' || parsed === null || (parsed as { kind?: unknown }).kind !== 'exec') return undefined;
  return parsed as RuntimeFields;
}

function envMap(env: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(env)) return out;
  for (const e of env) {
    if (typeof e !== 'string') continue;
    const eq = e.indexOf('=');
    out.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return out;
}

/** What of a RUN's environment, user and working directory differs; build args are left to their own reasons. */
function settingReasons(beforeOp: string, nowOp: string, args: Record<string, string>): MissReason[] {
  const b = runtimeFields(beforeOp);
  const a = runtimeFields(nowOp);
  if (!b || !a) return [];
  const out: MissReason[] = [];
  const be = envMap(b.env);
  const ae = envMap(a.env);
  for (const name of [...new Set([...be.keys(), ...ae.keys()])].sort()) {
    if (be.get(name) === ae.get(name) || Object.hasOwn(args, name)) continue;
    const r: MissReason = { kind: 'setting', setting: 'ENV', name };
    const bv = be.get(name);
    const av = ae.get(name);
    if (bv !== undefined) r.before = bv;
    if (av !== undefined) r.after = av;
    out.push(r);
  }
  // A SHELL change is the argv's head: the same command text run by another shell.
  const shell = (argv: unknown): string | undefined => (Array.isArray(argv) && argv.length > 1 ? JSON.stringify(argv.slice(0, -1)) : undefined);
  const bs = shell(b.argv);
  const as = shell(a.argv);
  if (bs !== as && bs !== undefined && as !== undefined && Array.isArray(b.argv) && Array.isArray(a.argv) && b.argv.at(-1) === a.argv.at(-1)) {
    out.push({ kind: 'setting', setting: 'SHELL', before: bs, after: as });
  }
  if (b.user !== a.user) out.push({ kind: 'setting', setting: 'USER', before: String(b.user ?? ''), after: String(a.user ?? '') });
  if (b.cwd !== a.cwd) out.push({ kind: 'setting', setting: 'WORKDIR', before: String(b.cwd ?? ''), after: String(a.cwd ?? '') });
  return out;
}
