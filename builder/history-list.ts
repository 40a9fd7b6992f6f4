import { posix } from 'node:path';
import { goHumanDuration } from '../common/index.js';
import type { BuildSummary } from '../solver/index.js';
import { DOCKER_CLI_TABLE, tabWrite } from './tab-writer.js';

// `tsbuild history ls` as `docker buildx history ls` prints its build records (buildx commands/history/ls.go): the
// table BUILD ID, NAME, STATUS, CREATED AT, DURATION (and buildx's Docker Desktop link column, empty outside a
// terminal and never a link here), or `--format json`: one JSON object a line.

type Listed = Pick<BuildSummary, 'id' | 'started' | 'finished' | 'status' | 'dockerfile' | 'target' | 'contextSource' | 'steps' | 'cached'>;

/**
 * The name buildx gives a build (history/utils.go BuildName), from what a record keeps: the Dockerfile's directory, or
 * `dir/Dockerfile.name` for another file name; a remote context's URL; then ` (target)`.
 */
export function buildName(b: Pick<Listed, 'dockerfile' | 'target' | 'contextSource'>): string {
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

/** `--format json`: one object a line, with buildx's keys; `ref` is BUILDER/NODE/ID as buildx writes it (`prefix`: buildRefPrefix). */
export function historyJsonLines(builds: readonly Listed[], prefix: string): string {
  return builds.map((b) => `${JSON.stringify({
    ref: `${prefix}/${b.id}`, name: buildName(b), status: status(b), created_at: new Date(b.started).toISOString(),
    total_steps: b.steps, completed_steps: b.steps, cached_steps: b.cached, completed_at: new Date(b.finished).toISOString(),
  })}\n`).join('');
}
