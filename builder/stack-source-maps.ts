import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Stack traces of the bundled CLI point at the TypeScript, like `node --enable-source-maps`, but only a stack that is
// printed is mapped, at the moment it is printed. --enable-source-maps parsed every loaded chunk's map at start-up
// (10-15 ms of a 40 ms `tsbuild --version`), and a mapping Error.prepareStackTrace still parsed undici's 1 MB map on
// every no-op build, because undici reads the stack of an error it creates when a client closes (~90 ms).

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

/** The bundle's own directory, as a file: URL ending in `/` (set by launch.ts or the snapshot's main; empty unbundled). */
let bundleDir = '';

/** Maps frames of files under `dirUrl` from now on (the entry calls this with the bundle's directory). */
export function setBundleDir(dirUrl: string): void {
  bundleDir = dirUrl;
}

// A module's frames name a file: URL; the startup snapshot's one script (dist/bundle/snap/tsbuild.cjs) a plain path.
/**
 * What each entry of the bundled CLI does first: frames under `dirUrl` are mapped from now on, and a crash outside the
 * command's own error handling (main.ts maps those) is printed mapped, exiting as Node would.
 */
export function useBundleStacks(dirUrl: string): void {
  setBundleDir(dirUrl);
  process.on('uncaughtException', (err: unknown) => {
    process.stderr.write(`${mapStack(err instanceof Error ? (err.stack ?? String(err)) : String(err))}\n`);
    process.exit(1);
  });
}

const FRAME = /((?:file:\/\/)?\/[^\s()]+\.c?js):(\d+):(\d+)/g;

/** `text` (a stack, or a message holding stacks) with every file:line:column in the bundle replaced by the TypeScript's. */
export function mapStack(text: string): string {
  if (bundleDir === '') return text;
  return text.replace(FRAME, (whole, url: string, line: string, column: string) => {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!pathToFileURL(file).href.startsWith(bundleDir)) return whole;
    const entry = mapOf(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (entry === undefined || !('originalSource' in entry)) return whole;
    const source = resolve(dirname(file), entry.originalSource.replace(/^file:\/\//, ''));
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
