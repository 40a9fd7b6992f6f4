import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseGoBool, UserError } from '../../common/index.js';
import { targetError } from './errors.js';
import { cacheEntries, parseCacheFrom, parseCacheTo } from '../cache/cache-spec.js';
import type { BuildFlags } from '../commands/build-flags.js';
import { isRemoteUrl, LOCAL_DELETE, parseBuildContexts, sshSpec } from '../options/build-flags.js';
import { evaluatedPath } from '../options/existing-path.js';
import { parseOutput, type OutputSpec } from '../options/output.js';
import { parseOciLayoutRef } from '../options/oci-layout-ref.js';
import { parseSecret as parseBuildSecret, secretSource } from '../options/secrets.js';
import { parseCache, parseExport, parseSecret, parseSsh } from './target.js';

// A bake file comes with the repository, as the Dockerfile does: whoever wrote it chose every path in it. buildx
// (since v0.20) lets a bake read and write only inside the working directory unless the person running it grants
// more with `--allow fs.read=PATH`, `fs.write=PATH` or `fs=PATH` (bake/entitlements.go), and so does tsbuild bake:
// without it a bake file could put `secret src=/etc/shadow` or `contexts = { h = "/root" }` into an image, print a
// host file as a Dockerfile's error line, or write an output over `/etc`. Paths are compared after their symbolic
// links are followed as far as they exist, so a link in the repository cannot lead out. BUILDX_BAKE_ENTITLEMENTS_FS=0
// turns the check off, as in buildx. The same check asks for `--allow ssh` before a bake file forwards the invoker's
// SSH agent (`ssh = ["default"]`).

/** A path a target reads or writes, and what in the target names it (for the message). */
interface Access { path: string; what: string }

/** The local paths a target's build reads and writes: its context, Dockerfile, named contexts, secrets, SSH sockets, local caches and outputs. */
export function fsAccessOf(context: string, flags: BuildFlags, env: NodeJS.ProcessEnv = process.env): { read: Access[]; write: Access[] } {
  const read: Access[] = [];
  const write: Access[] = [];
  if (!isRemoteUrl(context)) read.push({ path: context, what: 'context' });
  // A remote context's Dockerfile is read inside the fetched context, unless it is a file of this host (cwd://).
  if (flags.file !== undefined && flags.file !== '-' && (!isRemoteUrl(context) || isAbsolute(flags.file))) read.push({ path: flags.file, what: 'dockerfile' });
  for (const [name, c] of Object.entries(parseBuildContexts(flags.buildContext))) {
    if (c.kind === 'local') read.push({ path: c.dir, what: `contexts.${name}` });
    else if (c.kind === 'image') {
      const layout = parseOciLayoutRef(c.ref);
      if (layout !== undefined) read.push({ path: layout.dir, what: `contexts.${name}` });
    }
  }
  for (const text of flags.secret) {
    const spec = parseBuildSecret(text);
    const source = secretSource(spec, env);   // the file resolveSecrets will read, if any
    if ('file' in source) read.push({ path: source.file, what: `secret ${spec.id}` });
  }
  for (const text of flags.ssh) {
    const { id, paths } = sshSpec(text);
    for (const p of paths) read.push({ path: p, what: `ssh ${id}` });
  }
  for (const c of cacheEntries(flags.cacheFrom, '--cache-from').filter((t) => /(^|,)type=local(,|$)/.test(t)).map((t) => parseCacheFrom(t))) {
    if (c.type === 'local') read.push({ path: c.src, what: 'cache-from' });
  }
  for (const c of cacheEntries(flags.cacheTo, '--cache-to').filter((t) => /(^|,)type=local(,|$)/.test(t)).map((t) => parseCacheTo(t))) {
    if (c.type === 'local') write.push({ path: c.dest, what: 'cache-to' });
  }
  for (const text of flags.output) {
    const o = parseOutput(text, flags.tag);
    if ('dest' in o && o.dest !== '-') write.push({ path: o.dest, what: `output type=${o.type}` });
  }
  return { read, write };
}

/**
 * `p` (relative to `cwd`) with the symbolic links of its existing part followed, as buildx's bake checks paths
 * (bake/entitlements.go, osutil.EvaluateToExistingPath): a dangling link counts where it points. A path that cannot
 * be evaluated (a link loop, a file where a directory is named) is compared as written.
 */
function evaluated(p: string, cwd: string): string {
  try {
    return evaluatedPath(p, cwd);
  } catch {
    return resolve(cwd, p);
  }
}

const isUnder = (p: string, dir: string): boolean => dir === sep || p === dir || p.startsWith(`${dir}${sep}`);

/** Paths granted beyond the working directory, as the kernel would resolve them. */
export interface FsGrants { read: string[]; write: string[] }

/**
 * The host paths the command line's `--set` values name: an output's or local cache-to's dest (write), a local
 * cache-from's src, a secret's file, an SSH socket or key (read). The invoker wrote them, not the bake file, and
 * buildx's Target.AddOverrides grants each (ent.FSWrite / ent.FSRead). buildx then checks the paths a build uses as
 * far as they exist (bake/entitlements.go evaluateToExistingPaths), so a grant lets through only a path that exists:
 * `--set *.output=type=local,dest=/tmp/out` with /tmp/out there builds, with it missing is asked for (buildx's
 * testBakeSetExistingOutside / testBakeSetNonExistingOutside); only the existing ones are kept here.
 */
export function setGrants(sets: string[], cwd = process.cwd()): FsGrants {
  const read: string[] = [];
  const write: string[] = [];
  for (const v of sets) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const [, field = '', id] = v.slice(0, eq).replace(/\+$/, '').split('.');
    const value = v.slice(eq + 1);
    // The values were parsed as the targets were resolved; one that fails here granted nothing there either.
    try {
      if (field === 'output' && value !== '') write.push(parseExport(value).dest ?? '');
      else if (field === 'cache-to') write.push(...parseCache(value).filter((c) => c.type === 'local').map((c) => c.dest ?? ''));
      else if (field === 'cache-from') read.push(...parseCache(value).filter((c) => c.type === 'local').map((c) => c.src ?? ''));
      else if (field === 'secrets' || (field === 'secret' && id !== undefined)) {
        const s = parseSecret(value);
        if (s.src !== undefined) read.push(s.src);   // buildx's Secret.FilePath
      } else if (field === 'ssh') read.push(...(parseSsh(value).paths ?? []));
    } catch {
      continue;
    }
  }
  // Evaluated now, once, before any target runs: a link a target's output plants later cannot widen a grant.
  const existing = (list: string[]): string[] => list.filter((p) => p !== '' && p !== '-' && existsSync(resolve(cwd, p))).map((p) => evaluated(p, cwd));
  return { read: existing(read), write: existing(write) };
}

/**
 * A path as buildx's Prompt lists it (bake/entitlements.go toRelativePaths): relative to the working directory when
 * that takes at most one `..`, else in full. The --allow flags of the hint name it in full.
 */
function shownPath(p: string, home: string): string {
  const rel = relative(home, p);
  return rel.startsWith(`..${sep}..`) ? p : rel;
}

/**
 * Whether the fs paths are checked (buildx's EntitlementConf.Prompt): BUILDX_BAKE_ENTITLEMENTS_FS says, when set; else
 * they are, unless the definition is remote and BAKE_ALLOW_REMOTE_FS_ACCESS is true (the invoker trusts that remote
 * with the host's files, as buildx's remote escape cases run it). A value Go's ParseBool refuses is an error, as there.
 */
function fsEntitlementsEnabled(isRemote: boolean, env: NodeJS.ProcessEnv): boolean {
  const bool = (name: string): boolean | undefined => {
    const v = env[name];
    if (v === undefined) return undefined;
    const b = parseGoBool(v);
    if (b === undefined) throw new UserError('INVALID_ARGUMENT', `failed to parse ${name} value ${JSON.stringify(v)}`, 'use true or false (1 or 0)');
    return b;
  };
  const fs = bool('BUILDX_BAKE_ENTITLEMENTS_FS');
  if (fs !== undefined) return fs;
  return !(isRemote && bool('BAKE_ALLOW_REMOTE_FS_ACCESS') === true);
}

/**
 * Refuses targets that read or write outside the working directory without a grant, or delete in a local output
 * (`mode=delete`) without `--allow=buildx.local.delete`, naming every path and the `--allow` that grants it, before any
 * target starts. `allow`: the bake's --allow values; `granted`: what its --set values grant (setGrants). The delete
 * grant is asked for whatever dest is and whatever BUILDX_BAKE_ENTITLEMENTS_FS says: buildx's bake counts it among the
 * privileges, not the paths (bake/entitlements.go check and Prompt), unlike `tsbuild build`, which lets a
 * subdirectory of the working directory go without it (builder/options/local-delete.ts).
 */
export function checkFsEntitlements(targets: Array<{ name: string; context: string; flags: BuildFlags }>, given: { allow: string[]; granted?: FsGrants; isRemote?: boolean },
  cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): void {
  const allow = given.allow.flatMap((x) => x.split(',')).map((x) => x.trim());
  const missing: string[] = [];
  const flags = new Set<string>();
  if (!allow.includes(LOCAL_DELETE)) {
    for (const t of targets) {
      for (const o of outputsOf(t)) {
        if (o.type !== 'local' || o.mode !== 'delete') continue;
        missing.push(` - Deleting stale files from local output destinations (target ${JSON.stringify(t.name)} output dest=${o.dest})`);
        flags.add(`--allow=${LOCAL_DELETE}`);
      }
    }
  }
  const home = evaluated('.', cwd);
  if (fsEntitlementsEnabled(given.isRemote === true, env)) missing.push(...missingFsAccess(targets, allow, given.granted, cwd, env, flags));
  if (missing.length > 0) {
    // buildx's words (its Prompt lists " - Read access to path …" and ends in `additional privileges requested`),
    // each line with the target and the attribute that asks; the hint names the paths in full.
    throw new UserError('INVALID_ARGUMENT', `additional privileges requested by the bake definition (working directory ${home}):\n${missing.join('\n')}`,
      `if you trust it, pass ${[...flags].join(' ')}${[...flags].some((f) => f.startsWith('--allow=fs')) ? ' (or run bake from a directory that holds these paths)' : ''}`);
  }
}

/** A target's outputs as `tsbuild build` parses them; a value it refuses is refused here first, naming the target. */
function outputsOf(t: { name: string; flags: BuildFlags }): OutputSpec[] {
  try {
    return t.flags.output.map((text) => parseOutput(text, t.flags.tag));
  } catch (err) {
    throw targetError(t.name, err);
  }
}

/** The lines of what the targets read or write outside the working directory without a grant; their flags go to `flags`. */
function missingFsAccess(targets: Array<{ name: string; context: string; flags: BuildFlags }>, allow: string[], granted: FsGrants | undefined,
  cwd: string, env: NodeJS.ProcessEnv, flags: Set<string>): string[] {
  const grants = { read: [] as string[], write: [] as string[] };
  for (const a of allow) {
    const m = /^fs(\.read|\.write)?=(.+)$/.exec(a);
    if (!m?.[2]) continue;
    const path = m[2] === '*' ? sep : evaluated(m[2], cwd);
    if (m[1] !== '.write') grants.read.push(path);
    if (m[1] !== '.read') grants.write.push(path);
  }
  grants.read.push(...(granted?.read ?? []));
  grants.write.push(...(granted?.write ?? []));
  const home = evaluated('.', cwd);
  const missing: string[] = [];
  const allowsSsh = allow.includes('ssh');
  for (const t of targets) {
    // The default agent ($SSH_AUTH_SOCK) is the invoker's keys: buildx asks for --allow ssh before a bake file uses it.
    for (const text of t.flags.ssh) {
      if (sshSpec(text).paths.length === 0 && !allowsSsh) {
        missing.push(` - Forwarding default SSH agent socket (target ${JSON.stringify(t.name)} ssh ${text})`);
        flags.add('--allow=ssh');
      }
    }
    // The paths come from the target's flags as `tsbuild build` parses them: a value it refuses (`-o type=nope`) is
    // refused here first, and must say which target holds it.
    let access: ReturnType<typeof fsAccessOf>;
    try {
      access = fsAccessOf(t.context, t.flags, env);
    } catch (err) {
      throw targetError(t.name, err);
    }
    const { read, write } = access;
    for (const [kind, list] of [['read', read], ['write', write]] as const) {
      for (const a of list) {
        const p = evaluated(a.path, cwd);
        if (isUnder(p, home) || grants[kind].some((g) => isUnder(p, g))) continue;
        missing.push(` - ${kind === 'read' ? 'Read' : 'Write'} access to path ${shownPath(p, home)} (target ${JSON.stringify(t.name)} ${a.what})`);
        flags.add(`--allow=fs.${kind}=${p}`);
      }
    }
  }
  return missing;
}
