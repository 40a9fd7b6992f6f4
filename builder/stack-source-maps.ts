import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Stack traces of the bundled CLI point at the TypeScript, like `node --enable-source-maps`, but a map is read only
// when a stack trace through its file is formatted. --enable-source-maps parses every loaded chunk's map at start-up:
// 10–15 ms of a 40 ms `tsbuild --version` (bench/RESULTS.md, 2026-11-30).

const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | undefined {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      map = null;   // no map (or an unreadable one): the frame stays as V8 wrote it
    }
    maps.set(file, map);
  }
  return map ?? undefined;
}

/** One frame as V8 writes it, with the bundle's file:line:column replaced by the TypeScript source's. */
function mappedFrame(site: NodeJS.CallSite, under: string): string {
  const text = String(site);
  const url = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (url === undefined || url === null || !url.startsWith(under) || line === null || column === null) return text;
  const file = fileURLToPath(url);
  const entry = mapOf(file)?.findEntry(line - 1, column - 1);
  if (entry === undefined || !('originalSource' in entry)) return text;
  const source = resolve(dirname(file), entry.originalSource.replace(/^file:\/\//, ''));
  return text.replace(`${url}:${line}:${column}`, `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
}

/** Maps stack frames in files under `dirUrl` (a file: URL ending in `/`) through their `.map` files, lazily. */
export function installStackSourceMaps(dirUrl: string): void {
  Error.prepareStackTrace = (err: unknown, sites: NodeJS.CallSite[]): string => {
    let head: string;
    try { head = Error.prototype.toString.call(err); } catch { head = 'Error'; }
    return [head, ...sites.map((s) => `    at ${mappedFrame(s, dirUrl)}`)].join('\n');
  };
}
