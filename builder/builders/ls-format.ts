import { UserError, goJsonCompact } from '../../common/index.js';
import { GoStruct, TemplateError } from '../imagetools/go-template.js';
import { formatList, isTableFormat } from '../docker-format.js';
import { DOCKER_CLI_TABLE, tabWrite } from '../tab-writer.js';
import { formatPlatformGroups, type BuilderView, type NodeView } from './view.js';

// `tsbuild ls` as buildx's commands/ls.go prints it: docker's table formatter (tabwriter 10,1,3) with the header
// NAME/NODE, DRIVER/ENDPOINT, STATUS, BUILDKIT, PLATFORMS, a row per builder (`*` on the current one) and one per
// node (` \_ ` before its name and endpoint); `--format json` one JSON object a builder, a line each.

const INDENT = ' \\_ ';
const HEADER = ['NAME/NODE', 'DRIVER/ENDPOINT', 'STATUS', 'BUILDKIT', 'PLATFORMS'];

/** The `ls` table; `trunc` (no --no-trunc) cuts the platforms as buildx's truncPlatforms does (4 groups). */
export function lsTable(builders: BuilderView[], trunc: boolean): string {
  const rows = [HEADER];
  const cells = (f: Record<string, string>): string[] => [f.Name ?? '', f.DriverEndpoint ?? '', f.Status ?? '', f.Buildkit ?? '', f.Platforms ?? ''];
  for (const b of builders) {
    rows.push(cells(rowFields(b, undefined, true, trunc)));
    for (const n of b.nodes) rows.push(cells(rowFields(b, n, true, trunc)));
  }
  return `${tabWrite(rows.map((r) => r.join('\t')).join('\n'), DOCKER_CLI_TABLE)}\n`;
}

/** One row's fields as buildx's lsContext methods give them; `isTable` adds the `*` and the ` \_ ` indents. */
function rowFields(b: BuilderView, n: NodeView | undefined, isTable: boolean, trunc: boolean): Record<string, string> {
  if (n === undefined) {
    return { Name: `${b.name}${b.isCurrent && isTable ? '*' : ''}`, DriverEndpoint: b.driver, LastActivity: '', Status: '', Buildkit: '', Platforms: '', Error: '' };
  }
  const pfs = formatPlatformGroups(n);
  const indent = isTable ? INDENT : '';
  return {
    Name: indent + n.name, DriverEndpoint: indent + n.endpoint, LastActivity: '', Status: n.status, Buildkit: n.version,
    Platforms: trunc && isTable ? truncPlatforms(pfs, 4) : pfs.join(', '), Error: '',
  };
}

/** `ls --format TEMPLATE` as docker's formatter.Context runs it (docker-format.ts), a row per builder and node. */
export async function lsTemplate(builders: BuilderView[], format: string, trunc: boolean): Promise<string> {
  const isTable = isTableFormat(format);
  const titles = { Name: HEADER[0] ?? '', DriverEndpoint: HEADER[1] ?? '', LastActivity: 'LAST ACTIVITY', Status: HEADER[2] ?? '', Buildkit: HEADER[3] ?? '', Platforms: HEADER[4] ?? '', Error: 'ERROR' };
  const row = (f: Record<string, string>): GoStruct => new GoStruct('commands.lsContext', Object.entries(f).map(([name, value]) => ({ name, value })));
  const rows: GoStruct[] = [];
  for (const b of builders) {
    rows.push(row(rowFields(b, undefined, isTable, trunc)));
    for (const n of b.nodes) rows.push(row(rowFields(b, n, isTable, trunc)));
  }
  return await formatList(format, titles, rows, withLsHint);
}

/** A template error with the hint of `ls`'s fields (the template module's own hint is about imagetools'). */
function withLsHint(err: unknown): unknown {
  if (!(err instanceof TemplateError)) return err;
  return new UserError('TEMPLATE_FAILED', err.message, "ls's fields: .Name, .DriverEndpoint, .Status, .Buildkit, .Platforms, .LastActivity, .Error; e.g. --format '{{.Name}}' or 'table {{.Name}}\\t{{.Status}}'", { cause: err });
}

/**
 * `ls --format json`: each builder as buildx's lsContext.MarshalJSON writes it. That marshals the builder, reads it
 * back into a map and adds `Current`, so Go writes every object's keys sorted; zero and empty node fields are
 * omitted (builder/node.go's `omitempty`). LastActivity is Go's zero time: tsbuild keeps no per-builder activity.
 */
export function lsJson(builders: BuilderView[]): string {
  return builders.map((b) => `${goJsonCompact(sortKeys({
    Name: b.name, Driver: b.driver, LastActivity: '0001-01-01T00:00:00Z', Dynamic: false, Current: b.isCurrent,
    Nodes: b.nodes.map((n) => ({
      Name: n.name, Endpoint: n.endpoint, Status: n.status, Version: n.version, Platforms: n.platforms,
      ...(n.flags.length > 0 ? { Flags: n.flags } : {}), ...(Object.keys(n.driverOpts).length > 0 ? { DriverOpts: n.driverOpts } : {}),
      ...(n.gcPolicy.length > 0 ? { GCPolicy: n.gcPolicy } : {}), ...(Object.keys(n.labels).length > 0 ? { Labels: n.labels } : {}),
    })),
  }))}\n`).join('');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
}

// buildx ls.go truncMajorPlatforms: the groups shown first, in this order.
const MAJOR = ['linux/amd64', 'linux/arm64', 'linux/arm', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'linux/mips64'];

const osArch = (pf: string): string => pf.replace(/\*$/, '').split('/').slice(0, 2).join('/');

/**
 * buildx's truncPlatforms(pfs, max).String(): platforms grouped by os/arch (at most `max` groups, the major ones
 * first), a group of several written `os/arch (+N)` (starred when one of them is), and `(N more)` for the rest.
 */
export function truncPlatforms(pfs: string[], max: number): string {
  const res = new Map<string, string[]>();
  for (const mpf of MAJOR) {
    for (const pf of pfs) {
      if (res.size >= max) break;
      if (osArch(pf) === mpf) res.set(mpf, [...(res.get(mpf) ?? []), pf]);
    }
  }
  const left = new Map<string, string[]>();
  for (const pf of pfs) {
    if (res.size >= max) break;
    const k = osArch(pf);
    if (!res.has(k)) left.set(k, [...(left.get(k) ?? []), pf]);
  }
  for (const [k, v] of left) res.set(k, v);
  const out: string[] = [];
  let count = 0;
  const group = (k: string, v: string[]): void => {
    if (v.length === 1) out.push(v[0] ?? '');
    else out.push(`${k}${v.some((p) => p.endsWith('*')) ? '*' : ''} (+${v.length})`);
    count += v.length;
  };
  const seen = new Set<string>();
  for (const mpf of MAJOR) {
    const v = res.get(mpf);
    if (v) { seen.add(mpf); group(mpf, v); }
  }
  for (const k of [...res.keys()].sort()) {
    if (out.length >= max) break;
    if (!seen.has(k)) group(k, res.get(k) ?? []);
  }
  const rest = pfs.length - count;
  if (rest > 0) out.push(`(${rest} more)`);
  return out.join(', ');
}
