import { isAbsolute, relative } from 'node:path';
import { CsvError, csvFields, goLocalTimeJson, parseGoBool } from '../../common/index.js';
import type { BuildRecord } from '../../solver/index.js';
import { buildName } from './list.js';
import { GoDuration, GoNil, GoStruct, GoTime, type GoField, type GoValue } from '../imagetools/go-template.js';

// `tsbuild history inspect --format …` as buildx's commands/history/inspect.go builds its inspectOutput: the same
// fields, read the same way from the attributes BuildKit recorded for the build's frontend (FrontendAttrs), which
// tsbuild rebuilds from its own record (frontendAttrsOf). What tsbuild does not record stays empty, and is then
// omitted as buildx omits it: Materials, Attachments, the error's Logs, Sources and Stack.

/** buildx's keyValueOutput. */
export interface KeyValue { Name: string; Value: string }

/** buildx's configOutput: the build's settings that are no build arg, label or named context. */
export interface InspectConfig {
  Network: string; ExtraHosts: string[]; Hostname: string; CgroupParent: string; ImageResolveMode: string;
  MultiPlatform: boolean; NoCache: boolean; NoCacheFilter: string[];
  ShmSize: string; Ulimit: string; Memory: string; MemorySwap: string; CPUShares: string; CPUPeriod: string; CPUQuota: string;
  CPUSetCPUs: string; CPUSetMems: string; CacheMountNS: string; DockerfileCheckConfig: string; SourceDateEpoch: string;
  SandboxHostname: string; RestRaw: KeyValue[];
}

/** buildx's inspectOutput, times as Go writes a `time.Time` in the local zone, the duration in nanoseconds. */
export interface InspectOutput {
  Name: string; Ref: string; Context: string; Dockerfile: string; VCSRepository: string; VCSRevision: string; Target: string;
  Platform: string[]; KeepGitDir: boolean; NamedContexts: KeyValue[];
  StartedAt: string; CompletedAt: string; Duration: bigint; Status: 'completed' | 'failed' | 'canceled';
  /** buildx's errorOutput: `Code` is the gRPC code BuildKit recorded (2 Unknown for a failure, 1 Canceled). */
  Error?: { Code: number; Message: string; Name: string };
  NumCompletedSteps: number; NumTotalSteps: number; NumCachedSteps: number;
  BuildArgs: KeyValue[]; Labels: KeyValue[]; Config: InspectConfig;
  Errors: string[];
}

/** gRPC codes buildx prints by name (codes.Code.String) in the pretty text's `Error:` line. */
export const GRPC_CANCELED = 1;
export const GRPC_UNKNOWN = 2;

/**
 * The frontend attributes BuildKit would hold for the build, from what the record keeps: `build-arg:NAME` for each
 * build arg, `target`, `context` for a remote context (buildx sends its URL), and the others as the record kept them
 * (BuildRecord.frontendAttrs: settings, labels, named contexts, `vcs:*`; none in a record written before it kept them).
 */
export function frontendAttrsOf(record: BuildRecord): Map<string, string> {
  const attrs = new Map<string, string>(Object.entries(record.frontendAttrs ?? {}));
  for (const [k, v] of Object.entries(record.args)) attrs.set(`build-arg:${k}`, v);
  if (record.target) attrs.set('target', record.target);
  if (record.contextSource) attrs.set('context', record.contextSource.url);
  return attrs;
}

/** The inspectOutput of one recorded build; `cwd` is what buildx makes the context path relative to. */
export function inspectOutput(record: BuildRecord, cwd: string): InspectOutput {
  const attrs = frontendAttrsOf(record);
  const errors: string[] = [];
  const take = (key: string): string | undefined => {
    const v = attrs.get(key);
    attrs.delete(key);
    return v;
  };
  const takeBool = (key: string): boolean => {
    const v = take(key);
    if (v === undefined) return false;
    const b = parseGoBool(v);
    // buildx's tryParseValue: a value that is no bool is reported in Errors and read as false.
    if (b === undefined) errors.push(`failed to parse ${v}: (strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax)`);
    return b ?? false;
  };
  // buildx takes the `context` attribute only when its local state names no context: a remote build's stays, and
  // is listed with the other settings (RestRaw) as buildx lists it.
  const { context, dockerfile } = localState(record, cwd);
  const out: InspectOutput = {
    Name: buildName(record), Ref: record.id,
    Context: context || (take('context') ?? ''), Dockerfile: dockerfile,
    // Only for a local context: with a `context` attribute (a remote one) buildx shows no checkout.
    VCSRepository: attrs.has('context') ? '' : attrs.get('vcs:source') ?? '',
    VCSRevision: attrs.has('context') ? '' : attrs.get('vcs:revision') ?? '',
    Target: take('target') ?? '',
    Platform: (take('platform') ?? '').split(',').filter((p) => p !== ''),
    KeepGitDir: takeBool('build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR'),
    NamedContexts: keyValues(attrs, 'context:'),
    StartedAt: goLocalTimeJson(record.started), CompletedAt: goLocalTimeJson(record.finished),
    Duration: BigInt(Math.max(0, record.finished - record.started)) * 1_000_000n,
    Status: record.status === 'succeeded' ? 'completed' : record.status === 'cancelled' ? 'canceled' : 'failed',
    ...errorOf(record),
    // BuildKit counts a vertex with a Completed time, the one that failed too (history.go's status import); the
    // record holds the steps that finished or failed, not those the failure stopped before they started.
    NumCompletedSteps: record.vertices.length,
    NumTotalSteps: record.vertices.length,
    NumCachedSteps: record.vertices.filter((v) => v.cached).length,
    BuildArgs: [], Labels: [], Config: emptyConfig(), Errors: errors,
  };
  // buildx reads the build args and labels before the settings below take theirs out of the attributes: they are
  // listed among the build args too, and only RestRaw is what is left.
  out.BuildArgs = keyValues(attrs, 'build-arg:');
  out.Labels = keyValues(attrs, 'label:');
  const c = out.Config;
  c.Network = take('force-network-mode') ?? '';
  c.Hostname = take('hostname') ?? '';
  c.CgroupParent = take('cgroup-parent') ?? '';
  c.ImageResolveMode = take('image-resolve-mode') ?? '';
  c.MultiPlatform = takeBool('build-arg:BUILDKIT_MULTI_PLATFORM');
  if (attrs.has('multi-platform')) c.MultiPlatform = takeBool('multi-platform');
  const noCache = take('no-cache');
  c.NoCache = noCache === '';
  c.NoCacheFilter = noCache ? noCache.split(',') : [];
  c.ExtraHosts = extraHosts(take('add-hosts'), errors);
  for (const [key, field] of STRING_SETTINGS) c[field] = take(key) ?? '';
  c.RestRaw = [...attrs].filter(([k]) => !/^(vcs|build-arg|label|context|attest):/.test(k))
    .map(([Name, Value]) => ({ Name, Value })).sort((a, b) => compareGo(a.Name, b.Name));
  return out;
}

/** The settings buildx copies from an attribute as they are, in its order. */
const STRING_SETTINGS: [string, Exclude<keyof InspectConfig, 'ExtraHosts' | 'MultiPlatform' | 'NoCache' | 'NoCacheFilter' | 'RestRaw' | 'Network' | 'Hostname' | 'CgroupParent' | 'ImageResolveMode'>][] = [
  ['shm-size', 'ShmSize'], ['ulimit', 'Ulimit'], ['memory', 'Memory'], ['memswap', 'MemorySwap'], ['cpushares', 'CPUShares'],
  ['cpuperiod', 'CPUPeriod'], ['cpuquota', 'CPUQuota'], ['cpusetcpus', 'CPUSetCPUs'], ['cpusetmems', 'CPUSetMems'],
  ['build-arg:BUILDKIT_CACHE_MOUNT_NS', 'CacheMountNS'], ['build-arg:BUILDKIT_DOCKERFILE_CHECK', 'DockerfileCheckConfig'],
  ['build-arg:SOURCE_DATE_EPOCH', 'SourceDateEpoch'], ['build-arg:SANDBOX_HOSTNAME', 'SandboxHostname'],
];

/** `add-hosts` read as buildx reads it (csvvalue.Fields); a value that is no CSV record goes to Errors. */
function extraHosts(value: string | undefined, errors: string[]): string[] {
  if (value === undefined) return [];
  try {
    return csvFields(value);
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    errors.push(`failed to parse ${value}: (${err.message})`);
    return [];
  }
}

function emptyConfig(): InspectConfig {
  return {
    Network: '', ExtraHosts: [], Hostname: '', CgroupParent: '', ImageResolveMode: '', MultiPlatform: false, NoCache: false,
    NoCacheFilter: [], ShmSize: '', Ulimit: '', Memory: '', MemorySwap: '', CPUShares: '', CPUPeriod: '', CPUQuota: '',
    CPUSetCPUs: '', CPUSetMems: '', CacheMountNS: '', DockerfileCheckConfig: '', SourceDateEpoch: '', SandboxHostname: '', RestRaw: [],
  };
}

/**
 * Context and Dockerfile as buildx shows them from its local state of the build (localstate.State): the context
 * relative to the working directory and the Dockerfile relative to the context, each only when that does not climb
 * out (`../`). The record keeps the Dockerfile's absolute path and the context directory (records written before it
 * kept that show no context). A remote context's local state is its URL, which is no path: shown as it is.
 */
function localState(record: BuildRecord, cwd: string): { context: string; dockerfile: string } {
  if (record.contextSource !== undefined) return { context: record.contextSource.url, dockerfile: remoteDockerfile(record.dockerfile, record.contextSource.url) };
  const within = (from: string, to: string): string => {
    const rel = relative(from, to) || '.';
    return rel.startsWith('../') ? to : rel;
  };
  const dir = record.contextDir;
  const file = record.dockerfile ?? '';
  const dockerfile = dir !== undefined && file !== '' && file !== '-' && isAbsolute(file) ? within(dir, file) : file;
  return { context: dir !== undefined ? within(cwd, dir) : '', dockerfile };
}

/**
 * A remote build's Dockerfile as buildx names it: the `-f` as given, else the `filename` attribute (`Dockerfile`).
 * The record names it by its locator (remote-context.ts): `URL#REF:PATH` for git, `URL:PATH` for a URL, the URL
 * alone when it served the Dockerfile itself; PATH is the `-f` (under the repository's subdirectory, if one was given).
 */
function remoteDockerfile(locator: string | undefined, url: string): string {
  if (locator === undefined || locator === url) return 'Dockerfile';
  if (locator.startsWith(`${url}#`)) {
    const fragment = locator.slice(url.length + 1);
    return fragment.includes(':') ? fragment.slice(fragment.indexOf(':') + 1) : 'Dockerfile';
  }
  return locator.startsWith(`${url}:`) ? locator.slice(url.length + 1) : locator;
}

function errorOf(record: BuildRecord): Pick<InspectOutput, 'Error'> {
  if (record.status === 'succeeded') return {};
  const failed = record.vertices.find((v) => v.error !== undefined);
  return {
    Error: { Code: record.status === 'cancelled' ? GRPC_CANCELED : GRPC_UNKNOWN, Message: record.error?.message ?? '', Name: failed?.text ?? '' },
  };
}

/** buildx's readKeyValues: the attributes under `prefix`, without it, sorted by name (they stay in `attrs`). */
function keyValues(attrs: Map<string, string>, prefix: string): KeyValue[] {
  return [...attrs].filter(([k]) => k.startsWith(prefix)).map(([k, Value]) => ({ Name: k.slice(prefix.length), Value }))
    .sort((a, b) => compareGo(a.Name, b.Name));
}

/** Go's string order (cmp.Compare on strings): by bytes. */
function compareGo(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The output as a template and encoding/json see buildx's struct: its field names, order and `omitempty`s. */
export function inspectGoValue(out: InspectOutput): GoStruct {
  const s = (name: string, value: string): GoField => ({ name, json: name, omitEmpty: true, value });
  const list = (name: string, value: string[]): GoField => ({ name, json: name, omitEmpty: true, value: value.length ? value : new GoNil('slice', '[]string') });
  const kvs = (name: string, value: KeyValue[]): GoField => ({
    name, json: name, omitEmpty: true,
    value: value.length ? value.map((kv) => new GoStruct('history.keyValueOutput', [s('Name', kv.Name), s('Value', kv.Value)])) : new GoNil('slice', '[]history.keyValueOutput'),
  });
  const int = (name: string, value: number): GoField => ({ name, json: name, value: BigInt(value) });
  const bool = (name: string, value: boolean): GoField => ({ name, json: name, omitEmpty: true, value });
  const c = out.Config;
  const config = new GoStruct('history.configOutput', [
    s('Network', c.Network), list('ExtraHosts', c.ExtraHosts), s('Hostname', c.Hostname), s('CgroupParent', c.CgroupParent),
    s('ImageResolveMode', c.ImageResolveMode), bool('MultiPlatform', c.MultiPlatform), bool('NoCache', c.NoCache),
    list('NoCacheFilter', c.NoCacheFilter), ...STRING_SETTINGS.map(([, f]) => s(f, c[f])), kvs('RestRaw', c.RestRaw),
  ]);
  const error: GoValue = out.Error === undefined ? new GoNil('pointer', '*history.errorOutput') : new GoStruct('history.errorOutput', [
    { name: 'Code', json: 'Code', omitEmpty: true, value: BigInt(out.Error.Code) }, s('Message', out.Error.Message), s('Name', out.Error.Name),
    list('Logs', []), { name: 'Sources', json: 'Sources', omitEmpty: true, value: new GoNil('slice', '[]uint8') },
    { name: 'Stack', json: 'Stack', omitEmpty: true, value: new GoNil('slice', '[]uint8') },
  ]);
  return new GoStruct('history.inspectOutput', [
    s('Name', out.Name), { name: 'Ref', json: 'Ref', value: out.Ref },
    s('Context', out.Context), s('Dockerfile', out.Dockerfile), s('VCSRepository', out.VCSRepository), s('VCSRevision', out.VCSRevision),
    s('Target', out.Target), list('Platform', out.Platform), bool('KeepGitDir', out.KeepGitDir), kvs('NamedContexts', out.NamedContexts),
    { name: 'StartedAt', json: 'StartedAt', omitEmpty: true, value: new GoTime(out.StartedAt) },
    { name: 'CompletedAt', json: 'CompletedAt', omitEmpty: true, value: new GoTime(out.CompletedAt) },
    { name: 'Duration', json: 'Duration', omitEmpty: true, value: new GoDuration(out.Duration) },
    s('Status', out.Status), { name: 'Error', json: 'Error', omitEmpty: true, value: error },
    int('NumCompletedSteps', out.NumCompletedSteps), int('NumTotalSteps', out.NumTotalSteps), int('NumCachedSteps', out.NumCachedSteps),
    kvs('BuildArgs', out.BuildArgs), kvs('Labels', out.Labels), { name: 'Config', json: 'Config', value: config },
    kvs('Materials', []), kvs('Attachments', []), list('Errors', out.Errors),
  ]);
}
