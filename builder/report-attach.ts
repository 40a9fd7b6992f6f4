import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  attachBuildReport, fetchBuildReport, parseReference, withDigest, type Digest, type RegistryClient,
} from '../registry/index.js';
import { checkedReport, renderHtml, renderJson, type Report } from './report/index.js';
import { UserError } from '../common/index.js';

/** File names of an attached report: the JSON is the data any machine can re-render; the HTML is for people. */
const JSON_NAME = 'tsbuild-report.json';
const HTML_NAME = 'tsbuild-report.html';

/**
 * `build --push --attach-report`: attaches the build's report (JSON + HTML) to every pushed image as an OCI 1.1
 * referrer, so `tsbuild report IMAGE` can show it from any machine later. The subject is the pushed manifest by
 * digest, so a tag moved later does not take the report with it. The files are written in the temp dir of the state
 * root `root` (worker/temp-dirs.ts), never the host's $TMPDIR.
 */
export async function attachReport(report: Report, names: string[], digest: Digest, client: RegistryClient, signal: AbortSignal, root: string): Promise<void> {
  const dir = await (await import('../worker/index.js')).makeRootTempDir(root, 'report');
  try {
    await writeFile(join(dir, JSON_NAME), renderJson(report));
    await writeFile(join(dir, HTML_NAME), renderHtml(report));
    const files = [{ path: join(dir, JSON_NAME), mediaType: 'application/json' }, { path: join(dir, HTML_NAME), mediaType: 'text/html' }];
    for (const name of names) await attachBuildReport(client, withDigest(parseReference(name), digest), files, signal);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True when `arg` of `tsbuild report` names an image rather than a build id (ids never hold `/`, `:` or `@`). */
export function isImageArgument(arg: string): boolean {
  return /[/:@]/.test(arg);
}

/**
 * The report attached to `image` (the newest, when several builds attached one), read back from its registry into
 * the temp dir of the state root `root`.
 */
export async function fetchAttachedReport(image: string, client: RegistryClient, root: string, signal?: AbortSignal): Promise<Report> {
  const dir = await (await import('../worker/index.js')).makeRootTempDir(root, 'report');
  try {
    const paths = await fetchBuildReport(client, parseReference(image), dir, signal);
    const json = paths.find((p) => p.endsWith(JSON_NAME));
    if (!json) throw new UserError('IMAGE_NOT_FOUND', `the report attached to ${image} has no ${JSON_NAME}`, 'attach reports with tsbuild build --push --attach-report');
    let value: unknown;
    try {
      value = JSON.parse(await readFile(json, 'utf8'));
    } catch (err) {
      throw new UserError('INVALID_ARGUMENT', `the report attached to ${image} is not JSON: ${(err as Error).message}`, 'attach reports with tsbuild build --push --attach-report', { cause: err });
    }
    return checkedReport(value, (where) => new UserError('INVALID_ARGUMENT', `the report attached to ${image} is not a schemaVersion 1 tsbuild report (at ${where})`, 'upgrade tsbuild to read newer reports'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
