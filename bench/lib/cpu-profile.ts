import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** One line of a CPU profile summary: where self time went. */
export interface HotSpot {
  /** `function (file:line)`, file relative to the project's dist/ or node_modules/. */
  where: string;
  selfMs: number;
  percent: number;
}

/** Self time of a V8 `.cpuprofile`, by function and by area (project folder, npm package, Node internals). */
export interface CpuProfileSummary {
  totalMs: number;
  top: HotSpot[];
  byArea: HotSpot[];
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number } }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

function isCpuProfile(value: unknown): value is CpuProfile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v.nodes) && Array.isArray(v.samples) && Array.isArray(v.timeDeltas);
}

/** Where a script URL belongs: `solver/`, `npm:undici`, `node:internal`, or a V8 pseudo-frame such as `(gc)`. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1] !== undefined) return `npm:${pkg[1]}`;
  const folder = /\/dist\/([^/]+)\//.exec(url);
  return folder?.[1] !== undefined ? `${folder[1]}/` : url;
}

function shortUrl(url: string): string {
  const m = /\/(?:dist|node_modules)\/(.+)$/.exec(url);
  return m?.[1] ?? url.replace(/^file:\/\//, '');
}

function rank(map: Map<string, number>, totalMs: number, limit: number): HotSpot[] {
  return [...map.entries()].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]).slice(0, limit)
    .map(([where, selfMs]) => ({ where, selfMs, percent: totalMs > 0 ? (100 * selfMs) / totalMs : 0 }));
}

/** Sums self time per function and per area. `timeDeltas[i]` is the time up to sample i (V8's convention). */
export function summarizeCpuProfile(json: unknown, limit = 15): CpuProfileSummary {
  if (!isCpuProfile(json)) throw new Error('not a V8 cpuprofile (nodes, samples, timeDeltas)');
  const byId = new Map(json.nodes.map((n) => [n.id, n]));
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let totalMs = 0;
  json.samples.forEach((id, i) => {
    const ms = (json.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(id);
    if (node === undefined) return;
    const { functionName, url, lineNumber } = fromBundle(node.callFrame);
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where = url === '' ? name : `${name} (${shortUrl(url)}:${lineNumber + 1})`;
    byFn.set(where, (byFn.get(where) ?? 0) + ms);
    const area = areaOf(url, name);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
    totalMs += ms;
  });
  return { totalMs, top: rank(byFn, totalMs, limit), byArea: rank(byArea, totalMs, limit) };
}

const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file) ?? undefined;
}

/**
 * A frame in the bundled CLI (dist/bundle/cli/*.js, what bin/tsbuild runs) as if it ran from the unbundled dist/:
 * its source map gives the TypeScript file and line, which become `…/dist/<folder>/<file>.js` (or node_modules/…),
 * so areas and function names read the same for both.
 */
function fromBundle(frame: ProfileNode['callFrame']): ProfileNode['callFrame'] {
  const m = /^(file:\/\/.*)\/dist\/bundle\/[^/]+\/[^/]+\.js$/.exec(frame.url);
  if (m?.[1] === undefined) return frame;
  const file = fileURLToPath(frame.url);
  const entry = mapOf(file)?.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
  if (entry === undefined || !('originalSource' in entry)) return frame;
  const root = fileURLToPath(`${m[1]}/`);
  const rel = relative(root, resolve(dirname(file), entry.originalSource.replace(/^file:\/\//, '')));
  const url = rel.startsWith('node_modules/') ? pathToFileURL(resolve(root, rel)).href : pathToFileURL(resolve(root, 'dist', rel.replace(/\.ts$/, '.js'))).href;
  return { functionName: frame.functionName, url, lineNumber: entry.originalLine };
}
