import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../../common/index.js';
import type { BuildFlags } from '../commands/build-flags.js';
import { isRemoteUrl, LOCAL_DELETE, localDeleteValueError } from '../options/build-flags.js';
import type { ProgressMode } from '../progress/index.js';
import { resourceEntries, type Entry, type Target } from './target.js';

// A resolved bake target as `tsbuild build` flags, the way buildx's bake.toBuildOpt turns a target into build
// options: the Dockerfile is relative to the context, `cwd://` means the working directory, `target:NAME` contexts
// are the named target's result (here an OCI layout the dependency wrote), entitlements must be granted by --allow.

/** What the bake command adds to every target's flags. */
export interface BakeRunOptions {
  root: string;
  progress: ProgressMode;
  quiet: boolean;
  debug?: boolean;
  allow: string[];
  insecureRegistry: string[];
  /** Directory of each built dependency's OCI layout, by target name (for `target:NAME` contexts). */
  layouts: Map<string, string>;
  /** `--builder`: named in each target's build ref (`buildx.build.ref`). */
  builder?: string;
}

/** A field for Go's csvvalue: quoted when it holds a comma or a quote. */
const csv = (s: string): string => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** An output/cache entry back to its `-o` / `--cache-to` text: type first, then the rest in order. */
export function entryText(e: Entry): string {
  const { type, ...rest } = e;
  return [`type=${type ?? ''}`, ...Object.entries(rest).map(([k, v]) => csv(`${k}=${v}`))].join(',');
}

/** Strips buildx's `cwd://` prefix (BAKE_CMD_CONTEXT) from a local path. */
function localPath(p: string): string {
  return p.startsWith('cwd://') ? p.slice('cwd://'.length) || '.' : p;
}

/** The `[context, flags]` of `tsbuild build` for target `name`; `inlineDockerfile` is the temp file for dockerfile-inline. */
export function targetFlags(name: string, t: Target, opts: BakeRunOptions, inlineDockerfile?: string): { context: string; flags: BuildFlags } {
  const context = localPath(t.context ?? '.');
  // A git or http(s) URL goes to the build as buildx passes it (build fetches it: builder/remote-context).
  const isRemote = isRemoteUrl(context);
  const dockerfile = t.dockerfile ?? 'Dockerfile';
  if (dockerfile === '-') throw new UserError('INVALID_ARGUMENT', `target ${JSON.stringify(name)}: dockerfile from stdin not allowed in bake`, 'name a file, or use dockerfile-inline');
  // Relative to the context, except `cwd://PATH`, which is relative to the working directory (buildx toBuildOpt). A
  // remote context's Dockerfile stays relative: build reads it inside the fetched context; a cwd:// one is made
  // absolute, a file of this host.
  const file = inlineDockerfile ?? (dockerfile.startsWith('cwd://') ? (isRemote ? resolve(localPath(dockerfile)) : localPath(dockerfile))
    : isAbsolute(dockerfile) || isRemote ? dockerfile : join(context, dockerfile));
  const granted = opts.allow.flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean);
  // buildx bake's --allow: the build entitlements, and fs[.read|.write]=PATH, the paths outside the working directory
  // the bake may read and write (fs-entitlements.ts checks them for every target before any starts).
  for (const a of granted) {
    // buildx's ParseEntitlements: ssh (the default agent), image[.push|.load]=REF, which it accepts too, and
    // buildx.local.delete, which takes no value (bake/entitlements.go).
    if (a.startsWith(`${LOCAL_DELETE}=`)) throw localDeleteValueError();
    if (!/^(network\.host|security\.insecure|ssh|buildx\.local\.delete|fs(\.read|\.write)?=.+|image(\.push|\.load)?=.+)$/.test(a)) {
      throw new UserError('INVALID_ARGUMENT', `invalid entitlement ${JSON.stringify(a)} in --allow`, 'use --allow network.host, security.insecure, ssh, buildx.local.delete, fs.read=PATH or fs.write=PATH');
    }
  }
  const missing = (t.entitlements ?? []).filter((e) => !granted.includes(e));
  if (missing.length) {
    throw new UserError('INVALID_ARGUMENT', `target ${JSON.stringify(name)} requests additional privileges: ${missing.join(', ')}`, `pass ${missing.map((m) => `--allow=${m}`).join(' ')} to grant them`);
  }
  const buildContext = Object.entries(t.contexts ?? {}).map(([k, v]) => {
    if (!v.startsWith('target:')) return `${k}=${localPath(v)}`;
    const dir = opts.layouts.get(v.slice('target:'.length));
    if (!dir) throw new Error(`bake: target ${v} was not built before ${name}`);
    return `${k}=oci-layout://${dir}`;
  });
  // A docker output without dest is buildx's --load: tsbuild build's own --load (docker or podman, whichever runs).
  const isLoad = (t.output ?? []).some((o) => o.type === 'docker' && !o.dest);
  const outputs = (t.output ?? []).filter((o) => !(o.type === 'docker' && !o.dest));
  const attest = t.attest ?? [];
  const disabled = (type: string): boolean => attest.some((a) => a.type === type && a.disabled === true);
  const flags: BuildFlags = {
    file, tag: t.tags ?? [], buildArg: Object.entries(t.args ?? {}).map(([k, v]) => `${k}=${v}`),
    // `bake --progress=quiet` only silences the display: buildx's bake prints no image ID on stdout (commands/bake.go
    // runBake has no `--quiet` of build's), where stdout may carry a --call answer or --print's JSON.
    root: opts.root, progress: opts.quiet ? 'quiet' : opts.progress, quiet: false, ...(opts.debug ? { debug: true } : {}), ...(opts.builder !== undefined ? { builder: opts.builder } : {}),
    isBakeTarget: true,
    output: outputs.map(entryText), ...(isLoad ? { load: true } : {}),
    cache: t['no-cache'] !== true, cacheFilter: t['no-cache-filter'] ?? [],
    cacheTo: (t['cache-to'] ?? []).map(entryText), cacheFrom: (t['cache-from'] ?? []).map(entryText),
    label: Object.entries(t.labels ?? {}).map(([k, v]) => `${k}=${v}`),
    secret: (t.secret ?? []).map((s) => [s.id !== undefined ? `id=${s.id}` : '', s.src !== undefined ? `src=${s.src}` : '', s.env !== undefined ? `env=${s.env}` : ''].filter(Boolean).map(csv).join(',')),
    ssh: (t.ssh ?? []).map((s) => (s.paths?.length ? `${s.id ?? 'default'}=${s.paths.join(',')}` : (s.id ?? 'default'))),
    // buildx.local.delete goes on to the build's own check: bake asked for it for every mode=delete output already
    // (fs-entitlements.ts), wherever dest is, as buildx's bake does.
    allow: granted.filter((a) => a === 'network.host' || a === 'security.insecure' || a === LOCAL_DELETE),
    buildContext, annotation: t.annotations ?? [],
    attest: attest.filter((a) => a.disabled !== true).map((a) => Object.entries({ type: a.type, ...a }).map(([k, v]) => csv(`${k}=${String(v)}`)).join(',')),
    ...(disabled('provenance') ? { provenance: 'false' } : {}), ...(disabled('sbom') ? { sbom: 'false' } : {}),
    // One host with its addresses, however many (compose's "a,b"): a quoted field of the CSV flag value.
    addHost: Object.entries(t['extra-hosts'] ?? {}).map(([h, ip]) => csv(`${h}=${ip}`)),
    ulimit: t.ulimits ?? [], resource: resourceEntries(t.resources), insecureRegistry: opts.insecureRegistry,
    ...(t.target ? { target: t.target } : {}), ...(t.platforms?.length ? { platform: t.platforms.join(',') } : {}),
    ...(t.network ? { network: t.network } : {}), ...(t['shm-size'] ? { shmSize: t['shm-size'] } : {}),
    ...(t.call ? { call: t.call } : {}),
  };
  return { context, flags };
}
