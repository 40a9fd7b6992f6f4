import { isIP } from 'node:net';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { UlimitName } from '../../frontend/index.js';
import type { RunLimits } from '../../solver/index.js';
import { flagFields } from './csv-attrs.js';
import { parseSize } from './units.js';
import { isTsbuildError, namedContextKey, UserError } from '../../common/index.js';
import { readContextFile } from '../context-file.js';
import { formatOciLayoutRef, parseOciLayoutRef } from './oci-layout-ref.js';
import type { SshSource } from './ssh-key-agent.js';

/** The `--resource` keys (buildx build/utils.go), docker run's flag names, in buildx's ResourcesConfig order. */
export const RESOURCE_KEYS = ['memory', 'memory-swap', 'cpu-shares', 'cpu-period', 'cpu-quota', 'cpuset-cpus', 'cpuset-mems'] as const;

/** A cpuset list as the kernel and BuildKit's cpuset.Validate take it: `0-3,5,7-8`. */
const CPUSET = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/**
 * `--resource KEY=VALUE` entries as buildx's ParseResourceLimits reads them, checked as docker checks a container's
 * (a swap limit needs a memory limit at most as large; a CFS period of 1 ms to 1 s; a quota of at least 1 ms), so a
 * typo stops the build before anything runs instead of failing each RUN at its cgroup. Values of 0 are unset, as
 * buildx sends only positive ones. Undefined when nothing is limited.
 */
export function parseResourceLimits(entries: string[]): RunLimits | undefined {
  const limits: RunLimits = {};
  const bad = (entry: string, why: string, hint = 'e.g. --resource memory=2g or --resource cpu-quota=50000'): UserError =>
    new UserError('INVALID_ARGUMENT', `invalid --resource ${JSON.stringify(entry)}: ${why}`, hint);
  const integer = (entry: string, v: string): number => {
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw bad(entry, `${JSON.stringify(v)} is not an integer`);
    return Number(v);
  };
  const size = (entry: string, v: string): number => {
    try {
      return parseSize(v);
    } catch {
      throw bad(entry, `${JSON.stringify(v)} is not a size`, 'give bytes or a size such as 512m or 2g');
    }
  };
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) throw bad(entry, 'expected key=value');
    const key = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    switch (key) {
      case 'memory': { const n = size(entry, value); if (n > 0) limits.memoryBytes = n; else delete limits.memoryBytes; break; }
      case 'memory-swap': { const n = value === '-1' ? -1 : size(entry, value); if (n !== 0) limits.memorySwapBytes = n; else delete limits.memorySwapBytes; break; }
      case 'cpu-shares': { const n = integer(entry, value); if (n > 0) limits.cpuShares = n; else delete limits.cpuShares; break; }
      case 'cpu-period': {
        const n = integer(entry, value);
        if (n > 0 && (n < 1000 || n > 1_000_000)) throw bad(entry, 'the CFS period is 1000 to 1000000 microseconds');
        if (n > 0) limits.cpuPeriodUs = n; else delete limits.cpuPeriodUs;
        break;
      }
      case 'cpu-quota': {
        const n = integer(entry, value);
        if (n > 0 && n < 1000) throw bad(entry, 'the CFS quota is at least 1000 microseconds');
        if (n > 0) limits.cpuQuotaUs = n; else delete limits.cpuQuotaUs;
        break;
      }
      case 'cpuset-cpus':
      case 'cpuset-mems': {
        if (!CPUSET.test(value)) throw bad(entry, `${JSON.stringify(value)} is not a list of ${key === 'cpuset-cpus' ? 'CPUs' : 'memory nodes'}`, `e.g. --resource ${key}=0-1 or ${key}=0,2`);
        if (key === 'cpuset-cpus') limits.cpusetCpus = value; else limits.cpusetMems = value;
        break;
      }
      default:
        throw new UserError('INVALID_ARGUMENT', `unknown resource ${JSON.stringify(key)}`, `use one of ${RESOURCE_KEYS.join(', ')}`);
    }
  }
  const swap = limits.memorySwapBytes;
  if (swap !== undefined && swap !== -1) {
    if (limits.memoryBytes === undefined) throw new UserError('INVALID_ARGUMENT', `--resource memory-swap=${swap} needs a memory limit`, 'add --resource memory=SIZE (memory-swap is memory plus swap), or give memory-swap=-1');
    if (swap < limits.memoryBytes) throw new UserError('INVALID_ARGUMENT', `--resource memory-swap (${swap} bytes) is below the memory limit (${limits.memoryBytes} bytes)`, 'memory-swap is memory plus swap: give at least the memory limit, or -1 for unlimited swap');
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** `--network`: the default network of every RUN that does not name one. */
export type NetworkMode = 'default' | 'none' | 'host';

/** Reads `--network default|none|host` (buildx's values; a named network needs a daemon tsbuild does not have). */
export function parseNetwork(text: string | undefined): NetworkMode | undefined {
  if (text === undefined) return undefined;
  if (text === 'default' || text === 'none' || text === 'host') return text;
  throw new UserError('INVALID_ARGUMENT', `--network ${text} is not supported`, 'use --network default, none or host (host needs --allow network.host)');
}

/**
 * Reads `--add-host` into /etc/hosts lines `IP<TAB>NAME`, as buildx does (build/utils.go toBuildkitExtraHosts):
 * - a value is CSV fields, as pflag's stringSlice reads it: `--add-host a:10.0.0.1,b:10.0.0.2` is two hosts, and a
 *   quoted field keeps its commas (`"h=10.0.0.1,10.0.0.2"`: one name, two addresses);
 * - a field is `NAME=IPS`, else `NAME:IPS` cut at the first colon (so `h:::1` is h at ::1); IPS are comma-separated
 *   addresses, each optionally in brackets (`h=[fd00::1]`);
 * - `host-gateway` needs a docker daemon's gateway address: refused, as buildx's docker-container driver refuses it.
 */
export function parseAddHosts(values: string[]): string[] {
  const lines: string[] = [];
  for (const value of values) {
    if (value === '') continue;
    for (const field of flagFields('--add-host', value)) {
      const eq = field.indexOf('=');
      const cut = eq >= 0 ? eq : field.indexOf(':');
      const name = cut > 0 ? field.slice(0, cut) : '';
      const ips = cut >= 0 ? field.slice(cut + 1) : '';
      if (name === '' || ips === '') throw new UserError('INVALID_ARGUMENT', `invalid host ${field}: expected NAME:IP or NAME=IP`, 'e.g. --add-host db.local:10.0.0.5');
      if (ips === 'host-gateway') {
        throw new UserError('INVALID_ARGUMENT', `unable to derive the IP value for host-gateway: host-gateway is not supported by tsbuild (--add-host ${field})`,
          'host-gateway is a docker daemon\'s bridge address; write the host\'s own address instead (RUN reaches the host\'s non-loopback addresses through its NAT)');
      }
      for (const written of ips.split(',')) {
        const ip = written.length > 2 && written.startsWith('[') && written.endsWith(']') ? written.slice(1, -1) : written;
        if (isIP(ip) === 0) throw new UserError('INVALID_ARGUMENT', `invalid host ${field}: ${JSON.stringify(written)} is not an IP address`, 'e.g. --add-host db.local:10.0.0.5');
        lines.push(`${ip}\t${name}`);
      }
    }
  }
  return lines;
}

/** What `--allow` grants: the build's entitlements (RUN's), and whether a local output may delete (buildx's own). */
export interface Allowed {
  /** `network.host`, `security.insecure`: checked against the Dockerfile's RUN steps. */
  entitlements: string[];
  /**
   * `buildx.local.delete`: `-o type=local,mode=delete` may delete in any dest (local-delete.ts). buildx checks it itself
   * and never sends it to BuildKit (util/buildflags/entitlements.go ParseEntitlements); nor does it reach a RUN here.
   */
  isLocalDeleteAllowed: boolean;
}

/**
 * `--allow` entitlements (repeatable, comma-separated), checked as buildx checks them: `network.host` and
 * `security.insecure` are granted, and `buildx.local.delete` (no value: "buildx.local.delete does not accept a
 * value", as buildx says); `device` is buildx's but has nothing to grant here (no RUN --device); anything else is a
 * typo and refused, never granted silently.
 */
export function parseAllow(values: string[]): Allowed {
  const out: Allowed = { entitlements: [], isLocalDeleteAllowed: false };
  for (const e of values.flatMap((a) => a.split(',')).map((a) => a.trim()).filter((a) => a !== '')) {
    if (e === 'network.host' || e === 'security.insecure') { if (!out.entitlements.includes(e)) out.entitlements.push(e); continue; }
    if (e === LOCAL_DELETE) { out.isLocalDeleteAllowed = true; continue; }
    if (e.startsWith(`${LOCAL_DELETE}=`)) throw localDeleteValueError();
    if (e === 'device' || e.startsWith('device=')) {
      throw new UserError('INVALID_ARGUMENT', `--allow ${e} is not supported`, 'tsbuild grants network.host, security.insecure and buildx.local.delete only');
    }
    throw new UserError('INVALID_ARGUMENT', `invalid entitlement ${JSON.stringify(e)} in --allow`, 'use --allow network.host, --allow security.insecure or --allow buildx.local.delete');
  }
  return out;
}

/** buildx's entitlement for `-o type=local,mode=delete` (util/buildflags/entitlements.go EntitlementBuildxLocalDelete). */
export const LOCAL_DELETE = 'buildx.local.delete';

/** `--allow buildx.local.delete=VALUE`, refused in buildx's words (build and bake alike). */
export function localDeleteValueError(): UserError {
  return new UserError('INVALID_ARGUMENT', `${LOCAL_DELETE} does not accept a value`, `write --allow=${LOCAL_DELETE}`);
}

/**
 * `--cgroup-parent PATH`: the cgroup every RUN's own is made under (`PATH/tsbuild/STEP` in each hierarchy, as
 * BuildKit makes `PATH/buildkit/ID`), a path below the cgroup root. systemd's `NAME.slice:` form is runc's systemd
 * driver's, which tsbuild does not use: the slice's cgroupfs path is asked for instead. `..` is refused, so the path
 * stays below the root; undefined without the flag.
 */
export function parseCgroupParent(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const bad = (why: string, hint = 'give a cgroup path below the root, e.g. --cgroup-parent ci/builds'): UserError =>
    new UserError('INVALID_ARGUMENT', `invalid --cgroup-parent ${JSON.stringify(text)}: ${why}`, hint);
  if (/\.slice:/.test(text)) throw bad('systemd\'s slice:prefix form is not supported', 'give the slice\'s cgroupfs path, e.g. --cgroup-parent system.slice/builds.slice');
  const segments = text.split('/').filter((s) => s !== '');
  if (segments.length === 0) return undefined;   // `/`: the root, tsbuild's default place
  // A cgroup's name is any bytes but `/`; `.` and `..` would name another place than the path says.
  for (const s of segments) {
    if (s === '.' || s === '..') throw bad(`${JSON.stringify(s)} is not a cgroup name`);
    if (/[\0\n]/.test(s)) throw bad('a cgroup name holds no NUL or newline');
  }
  return segments.join('/');
}

/** `--shm-size`: RUN's /dev/shm size in bytes (docker's size syntax, e.g. 128m, 1g); undefined keeps 64 MiB. */
export function parseShmSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch {
    throw new UserError('INVALID_ARGUMENT', `invalid --shm-size ${JSON.stringify(text)}`, 'give a size such as 128m or 1g');
  }
  if (bytes < 4096) throw new UserError('INVALID_ARGUMENT', `--shm-size ${text} is too small`, 'give at least 4k, e.g. --shm-size 128m');
  if (!Number.isSafeInteger(bytes)) throw new UserError('INVALID_ARGUMENT', `--shm-size ${text}: value out of range`, 'give a size such as 128m or 1g');
  return bytes;
}

// Every docker ulimit name; typed against the graph's UlimitName so the CLI and the worker can never disagree.
const ULIMIT_NAMES: Record<UlimitName, true> = {
  core: true, cpu: true, data: true, fsize: true, locks: true, memlock: true, msgqueue: true, nice: true, nofile: true,
  nproc: true, rss: true, rtprio: true, rttime: true, sigpending: true, stack: true,
};

function isUlimitName(name: string): name is UlimitName {
  return Object.hasOwn(ULIMIT_NAMES, name);
}

/** `--ulimit NAME=SOFT[:HARD]` as docker reads it (go-units ParseUlimit): HARD defaults to SOFT, -1 is unlimited. */
export function parseUlimits(values: string[]): { name: UlimitName; soft: number; hard: number }[] {
  const out = new Map<UlimitName, { name: UlimitName; soft: number; hard: number }>();
  for (const text of values) {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text);
    if (!m?.[1] || m[2] === undefined) throw new UserError('INVALID_ARGUMENT', `invalid --ulimit ${JSON.stringify(text)}`, 'write NAME=SOFT[:HARD], e.g. nofile=1024:2048');
    const name = m[1];
    if (!isUlimitName(name)) throw new UserError('INVALID_ARGUMENT', `unknown --ulimit type "${name}"`, `use one of ${Object.keys(ULIMIT_NAMES).join(', ')}`);
    const soft = Number(m[2]);
    const hard = m[3] === undefined ? soft : Number(m[3]);
    // go-units parses int64s; a value past what the helper carries exactly is out of range here (the kernel's own
    // limits, such as fs.nr_open for nofile, are checked when the step starts, and named then).
    if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) {
      throw new UserError('INVALID_ARGUMENT', `--ulimit ${text}: value out of range`, 'e.g. --ulimit nofile=1024:2048, -1 for unlimited');
    }
    const limit = (v: number): number => (v < 0 ? Infinity : v);
    if (soft < -1 || hard < -1 || limit(soft) > limit(hard)) {
      throw new UserError('INVALID_ARGUMENT', `--ulimit ${text}: the soft limit must be at most the hard limit (-1 is unlimited)`, 'e.g. --ulimit nofile=1024:2048');
    }
    out.set(name, { name, soft, hard });   // the last value for a name wins, as docker's map does
  }
  return [...out.values()];
}

/** One `--ssh` value's id and the paths it names (none: the default agent), before anything is looked up. */
export function sshSpec(text: string): { id: string; paths: string[] } {
  const m = /^([A-Za-z0-9_.-]+)(?:=(.*))?$/.exec(text);
  const id = m?.[1];
  if (!m || id === undefined) throw new UserError('INVALID_ARGUMENT', `invalid --ssh ${JSON.stringify(text)}`, 'write default or ID=SOCKET');
  return { id, paths: (m[2] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '') };
}

/**
 * `--ssh default|ID=SOCKET|ID=KEY[,KEY]` as buildx reads it (BuildKit's sshprovider): one agent socket, or private
 * key files that an agent of the build's own answers for (ssh-key-agent.ts), by id, for RUN --mount=type=ssh.
 * `default` alone is `$SSH_AUTH_SOCK`. Paths are the user's own, resolved here; a Dockerfile never names a host path.
 */
export function parseSsh(values: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, SshSource> {
  const out: Record<string, SshSource> = {};
  for (const text of values) {
    const { id, paths } = sshSpec(text);
    if (paths.length === 0) {
      const sock = env.SSH_AUTH_SOCK;
      if (!sock) throw new UserError('INVALID_ARGUMENT', `--ssh ${text}: SSH_AUTH_SOCK is not set`, 'start an agent (eval $(ssh-agent); ssh-add) or write --ssh ID=SOCKET');
      paths.push(sock);
    }
    const sockets: string[] = [];
    const keys: string[] = [];
    for (const given of paths) {
      const path = resolve(cwd, given);
      let info;
      try {
        info = statSync(path);
      } catch (err) {
        throw new UserError('INVALID_ARGUMENT', `--ssh ${text}: ${path} does not exist`, 'name a running SSH agent\'s socket (ssh-agent prints it as SSH_AUTH_SOCK) or a private key file', { cause: err });
      }
      if (info.isSocket()) sockets.push(path);
      else if (info.isFile()) keys.push(path);
      else throw new UserError('INVALID_ARGUMENT', `--ssh ${text}: ${path} is neither an agent socket nor a key file`, 'name a running SSH agent\'s socket or a private key file');
    }
    if (sockets.length > 1) throw new UserError('INVALID_ARGUMENT', `--ssh ${text}: only one agent socket per id`, 'name one socket, or give the other agent an id of its own');
    if (sockets.length > 0 && keys.length > 0) throw new UserError('INVALID_ARGUMENT', `--ssh ${text}: an agent socket and key files cannot be combined`, 'add the keys to the agent (ssh-add KEY), or give each its own id');
    out[id] = sockets[0] !== undefined ? { socket: sockets[0] } : { keys };
  }
  return out;
}

/**
 * A `--build-context NAME=VALUE`, as BuildKit reads it: an image (`docker-image://REF`), an image in a local OCI layout
 * (`oci-layout://DIR[:TAG][@sha256:…]`, kept as that text: the image source reads it), a local directory, or a remote
 * source (a git URL or an http(s) URL), which builder/remote-context fetches before the build into a private temp
 * directory that is then read as a local one (`dockerignore: false`: BuildKit reads no `.dockerignore` of a git or
 * http named context).
 */
export type NamedContext = { kind: 'image'; ref: string } | { kind: 'local'; dir: string; dockerignore?: false } | { kind: 'remote'; url: string };

/**
 * A context (or named context) given as a URL (git://, ssh://, http(s)://…) or in git's scp form (user@host:path), as
 * buildx's IsRemoteURL sorts them: builder/remote-context fetches it (git from http sorted there, other schemes refused).
 */
export function isRemoteUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^[a-zA-Z0-9-_]+@[a-zA-Z0-9-.]+:/.test(value);
}

/**
 * `--build-context NAME=VALUE`: a named context replaces the stage `NAME` (wholly), or `FROM NAME`, `COPY --from=NAME`
 * and `RUN --mount=from=NAME`, as in BuildKit. Images (`docker-image://`), OCI layouts (`oci-layout://DIR`), local
 * directories and remote sources (git URLs: a scheme or `user@host:path`; http(s) URLs) are implemented; `target:`
 * (a bake target, which bake itself turns into an OCI layout) is refused by name.
 */
export function parseBuildContexts(values: string[], cwd = process.cwd()): Record<string, NamedContext> {
  const out: Record<string, NamedContext> = {};
  for (const text of values) {
    const eq = text.indexOf('=');
    const name = eq > 0 ? text.slice(0, eq).trim() : '';
    const value = eq > 0 ? text.slice(eq + 1).trim() : '';
    if (!name || !value) throw new UserError('INVALID_ARGUMENT', `invalid --build-context ${JSON.stringify(text)}`, 'write NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR');
    // BuildKit looks `NAME::os/arch` up before `NAME` (a context for one platform); tsbuild does not, so such a name
    // would never match: refused rather than silently unused.
    if (name.includes('::')) throw new UserError('INVALID_ARGUMENT', `--build-context ${name}=…: a context for one platform (NAME::PLATFORM) is not supported`, 'drop ::PLATFORM (the context then serves every platform)');
    if (value.startsWith('docker-image://')) { out[name] = { kind: 'image', ref: value.slice('docker-image://'.length) }; continue; }
    if (value.startsWith('oci-layout://')) { out[name] = { kind: 'image', ref: ociLayoutRef(name, value, cwd) }; continue; }
    if (value.startsWith('target:')) {
      throw new UserError('INVALID_ARGUMENT', `--build-context ${name}=${value}: a bake target as a named context is not supported outside bake`,
        'use a local directory, a git or http(s) URL, NAME=docker-image://REF or NAME=oci-layout://DIR');
    }
    if (isRemoteUrl(value)) { out[name] = { kind: 'remote', url: value }; continue; }
    out[name] = { kind: 'local', dir: resolve(cwd, value) };
  }
  return out;
}

/** `oci-layout://DIR[:TAG][@sha256:…]` with DIR made absolute (the image source resolves it from any directory). */
function ociLayoutRef(name: string, value: string, cwd: string): string {
  const ref = parseOciLayoutRef(value);
  if (ref === undefined) throw new UserError('INVALID_ARGUMENT', `--build-context ${name}=${value}: expected oci-layout://DIR[:TAG][@sha256:…]`, 'e.g. --build-context base=oci-layout://./layout');
  return formatOciLayoutRef({ ...ref, dir: resolve(cwd, ref.dir) });
}

/** The kind of each named context, as the frontend's compile needs it (`docker-image://scratch`: BuildKit's empty one). */
export function namedContextKinds(contexts: Record<string, NamedContext>): Record<string, 'image' | 'local' | 'scratch'> {
  return Object.fromEntries(Object.entries(contexts).map(([name, c]) => [name, c.kind === 'image' && c.ref === 'scratch' ? 'scratch' : c.kind === 'image' ? 'image' : 'local']));
}

/** The reference to resolve for `ref` as the Dockerfile wrote it: a named context's image when one names it. */
export function namedImage(ref: string, contexts: Record<string, NamedContext>): string {
  // BuildKit looks the reference up by its familiar name without `:latest` (`docker.io/library/alpine:latest` → `alpine`).
  const named = contexts[namedContextKey(ref)];
  return named?.kind === 'image' ? named.ref : ref;
}

/**
 * The local named contexts as the solver reads them: each directory with its own `.dockerignore` applied (BuildKit
 * reads a named context's `.dockerignore` as it does the main context's). A missing directory is the user's mistake.
 */
export async function localContextSources(contexts: Record<string, NamedContext>): Promise<Record<string, { kind: 'context'; dir: string; excludes: string[] }>> {
  const out: Record<string, { kind: 'context'; dir: string; excludes: string[] }> = {};
  for (const [name, c] of Object.entries(contexts)) {
    if (c.kind === 'remote') throw new Error(`--build-context ${name}: the remote context was not fetched before the build (builder/remote-context fetchNamedContexts)`);
    if (c.kind !== 'local') continue;
    const info = await stat(c.dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new UserError('CONTEXT_NOT_FOUND', `--build-context ${name}=${c.dir}: not a directory`, 'name an existing directory, or write NAME=docker-image://REF for an image');
    // Read as the main context's is (readContextFile): a FIFO there was waited on for ever, /dev/zero read without end.
    const ignore = c.dockerignore === false ? undefined : await readContextFile(join(c.dir, '.dockerignore'), c.dir).catch((err: unknown) => {
      if (isTsbuildError(err)) throw err;
      return undefined;
    });
    const { parseDockerignore } = await import('../../frontend/index.js');   // lazily: the CLI loads this file at start-up
    out[name] = { kind: 'context', dir: c.dir, excludes: ignore === undefined ? [] : parseDockerignore(ignore) };
  }
  return out;
}
