import { posix } from 'node:path';
import { UserError, goHumanDuration, goJsonCompact, goTimeJson } from '../../common/index.js';
import type { BuildSummary } from '../../solver/index.js';
import { formatList, isTableFormat } from '../docker-format.js';
import { GoStruct } from '../imagetools/go-template.js';
import { DOCKER_CLI_TABLE, tabWrite } from '../tab-writer.js';

// `tsbuild history ls` as `docker buildx history ls` prints its build records (buildx commands/history/ls.go): the
// table BUILD ID, NAME, STATUS, CREATED AT, DURATION (and buildx's Docker Desktop link column, empty outside a
// terminal and never a link here), `--format json`: one JSON object a line, or a Go template over its lsContext.

type Listed = Pick<BuildSummary, 'id' | 'started' | 'finished' | 'status' | 'dockerfile' | 'target' | 'contextSource' | 'steps' | 'cached'> & Partial<Pick<BuildSummary, 'args'>>;

/**
 * The name buildx gives a build (util/history/name.go BuildName), from what a record keeps: the build arg
 * BUILDKIT_BUILD_NAME when set (BuildKit's documented override of the name history and Docker Desktop show); else the
 * Dockerfile's directory, or `dir/Dockerfile.name` for another file name; a remote context's URL; then ` (target)`.
 */
export function buildName(b: Pick<Listed, 'dockerfile' | 'target' | 'contextSource' | 'args'>): string {
  const override = b.args?.['BUILDKIT_BUILD_NAME'];
  if (override !== undefined && override !== '') return override;
  let name = '';
  const dockerfile = b.dockerfile?.replaceAll('\\', '/');
  if (dockerfile !== undefined && dockerfile !== '' && dockerfile !== '-') {
    const isDefault = dockerfile.endsWith('/Dockerfile') || dockerfile === 'Dockerfile';
    const path = isDefault ? posix.dirname(dockerfile) : dockerfile;
    name = isDefault ? posix.basename(path) : posix.join(posix.basename(posix.dirname(path)), posix.basename(path));
  }
  if (b.contextSource !== undefined) name = b.contextSource.url;
  if (b.target) name = name ? `${name} (${b.target})` : b.target;
  return name;
}

/** buildx's STATUS: a finished build is Completed or Error (a cancelled one ended in an error too). */
function status(b: Listed): string {
  return b.status === 'succeeded' ? 'Completed' : 'Error';
}

/** buildx history's formatDuration: `1.4s` under a minute, else `2m 5s` (seconds padded to two places). */
export function historyDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.trunc(ms / 60_000)}m ${String(Math.trunc(ms / 1000) % 60).padStart(2)}s`;
}

/** buildx's trimBeginning: the last `n` characters, the cut marked with `..`. */
function trimBeginning(s: string, n: number): string {
  return s.length <= n ? s : `..${s.slice(s.length - n + 2)}`;
}

/** The table, newest first; NAME is cut to its last 36 characters unless `trunc` is false (--no-trunc). */
export function historyTable(builds: readonly Listed[], opts: { now?: number; trunc?: boolean } = {}): string {
  const now = opts.now ?? Date.now();
  const rows = builds.map((b) => [b.id, opts.trunc === false ? buildName(b) : trimBeginning(buildName(b), 36), status(b),
    `${goHumanDuration(now - b.started)} ago`, historyDuration(b.finished - b.started), ''].join('\t'));
  return `${tabWrite(['BUILD ID\tNAME\tSTATUS\tCREATED AT\tDURATION\t', ...rows].join('\n'), DOCKER_CLI_TABLE)}\n`;
}

/** `--format json`: one object a line, as lsContext.MarshalJSON writes it: a Go map (keys sorted), times RFC3339Nano in UTC. */
export function historyJsonLines(builds: readonly Listed[], prefix: string): string {
  return builds.map((b) => `${goJsonCompact({
    cached_steps: b.cached, completed_at: goTimeJson(b.finished), completed_steps: b.steps, created_at: goTimeJson(b.started),
    name: buildName(b), ref: `${prefix}/${b.id}`, status: status(b), total_steps: b.steps,
  })}\n`).join('');
}

/** The columns' titles of a `table` template (buildx's lsHeader* constants; the link column has none). */
const HEADER = { Ref: 'BUILD ID', Name: 'NAME', Status: 'STATUS', CreatedAt: 'CREATED AT', Duration: 'DURATION', Link: '' };

/**
 * `--format TEMPLATE` over buildx's lsContext: .Ref (the id), .FullRef (BUILDER/NODE/ID), .Name (its last 36
 * characters in a table unless `trunc` is false), .Status, .CreatedAt, .Duration, .Link (empty in a table, which
 * never runs on a terminal that could open it; else the Docker Desktop URL buildx gives).
 */
export async function historyTemplate(builds: readonly Listed[], format: string, prefix: string, opts: { now?: number; trunc?: boolean } = {}): Promise<string> {
  const now = opts.now ?? Date.now();
  const isTable = isTableFormat(format);
  const rows = builds.map((b) => {
    const fullRef = `${prefix}/${b.id}`;
    const fields: Record<string, string> = {
      Ref: b.id, FullRef: fullRef, Name: isTable && opts.trunc !== false ? trimBeginning(buildName(b), 36) : buildName(b), Status: status(b),
      CreatedAt: `${goHumanDuration(now - b.started)} ago`, Duration: historyDuration(b.finished - b.started),
      Link: isTable ? '' : `docker-desktop://dashboard/build/${fullRef}`,
    };
    return new GoStruct('history.lsContext', Object.entries(fields).map(([name, value]) => ({ name, value })));
  });
  return await formatList(format, HEADER, rows, (err) => new UserError('TEMPLATE_FAILED', err.message, "history ls's fields: .Ref, .FullRef, .Name, .Status, .CreatedAt, .Duration, .Link; e.g. --format '{{.Ref}} {{.Status}}' or 'table {{.Ref}}\\t{{.Name}}'", { cause: err }));
}
