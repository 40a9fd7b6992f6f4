import { readFile } from 'node:fs/promises';
import { BuildHistory, type BuildRecord } from '../../solver/index.js';
import { buildReport, type Report, type ReportInput } from './model.js';
import { UserError } from '../../common/index.js';

/** A build record from the history in `root`: by id (a unique prefix is enough), or the latest build. */
export function readBuildRecord(root: string, buildId?: string): BuildRecord {
  const cache = BuildHistory.open(root);
  try {
    const id = buildId ?? cache.listBuilds(1)[0]?.id;
    if (id === undefined) throw new UserError('INVALID_ARGUMENT', `no builds recorded in ${root}`, 'run `tsbuild build` first, or pass the --root the build used');
    const record = cache.getBuild(id);
    if (!record) throw new UserError('INVALID_ARGUMENT', `no build ${id} in ${root}`, 'list builds with `tsbuild history --root DIR`');
    return record;
  } finally {
    cache.close();
  }
}

/** The Dockerfile a build read, if it is still there: the report quotes its lines (it checks they still match). */
export async function readDockerfileText(record: BuildRecord): Promise<string | undefined> {
  return record.dockerfile === undefined ? undefined : readFile(record.dockerfile, 'utf8').catch(() => undefined);
}

/** The report of a recorded build, read from the history in `root`. */
export async function loadReport(root: string, buildId?: string, extra: Omit<ReportInput, 'record'> = {}): Promise<Report> {
  const record = readBuildRecord(root, buildId);
  const dockerfileText = extra.dockerfileText ?? await readDockerfileText(record);
  return buildReport({ ...extra, record, ...(dockerfileText !== undefined ? { dockerfileText } : {}) });
}
