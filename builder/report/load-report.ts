import { readFile } from 'node:fs/promises';
import type { BuildHistory, BuildRecord } from '../../solver/index.js';
import { buildReport, type Report, type ReportInput } from './model.js';
import { UserError } from '../../common/index.js';

/** Where reports read recorded builds: a root's history, and the root's directory for messages. */
export interface HistorySource { dir: string; history(): Promise<BuildHistory> }

/** A build record from the history in `root`: by id (a unique prefix is enough), or the latest build. */
export async function readBuildRecord(root: HistorySource, buildId?: string): Promise<BuildRecord> {
  const history = await root.history();
  const id = buildId ?? history.listBuilds(1)[0]?.id;
  if (id === undefined) throw new UserError('INVALID_ARGUMENT', `no builds recorded in ${root.dir}`, 'run `tsbuild build` first, or pass the --root the build used');
  const record = history.getBuild(id);
  if (!record) throw new UserError('INVALID_ARGUMENT', `no build ${id} in ${root.dir}`, 'list builds with `tsbuild history --root DIR`');
  return record;
}

/**
 * The Dockerfile a build read: the text the record keeps (remote or stdin Dockerfiles), else the file if it is still
 * there. The report quotes its lines (it checks they still match).
 */
export async function readDockerfileText(record: BuildRecord): Promise<string | undefined> {
  if (record.dockerfileText !== undefined) return record.dockerfileText;
  return record.dockerfile === undefined ? undefined : readFile(record.dockerfile, 'utf8').catch(() => undefined);
}

/**
 * The report of a recorded build, read from the history in `root`; `recorded` is that record when the caller holds
 * it already (the build that just stored it), and is then not read back.
 */
export async function loadReport(root: HistorySource, buildId?: string, extra: Omit<ReportInput, 'record'> = {}, recorded?: BuildRecord): Promise<Report> {
  const record = recorded !== undefined && (buildId === undefined || recorded.id === buildId) ? recorded : await readBuildRecord(root, buildId);
  const dockerfileText = extra.dockerfileText ?? await readDockerfileText(record);
  return buildReport({ ...extra, record, ...(dockerfileText !== undefined ? { dockerfileText } : {}) });
}
