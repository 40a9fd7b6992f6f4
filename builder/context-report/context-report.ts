import { matchesGlob } from 'node:path';
import { cleanPathForContext, contextCopies, type ContextCopy } from './context-copies.js';
import type { ContextFile, ContextScan } from './scan-context.js';

/** Files and bytes of one part of the context: a top-level directory (`src/`) or a top-level file. */
export interface ContextPart {
  path: string;
  files: number;
  bytes: number;
  /** The COPY/ADD instructions (by `Dockerfile:LINE`) that read any of it. */
  readBy: string[];
}

/** A `.dockerignore` line the context would gain from. */
export interface IgnoreSuggestion {
  pattern: string;
  files: number;
  bytes: number;
  /** Broad COPYs (`COPY . .`) that sweep it into the image today; no COPY names it. */
  sweptBy: string[];
}

/** How often a context file's content changed across the recorded builds of this Dockerfile. */
export interface FileChurn { path: string; changes: number }

/** One COPY/ADD from the context, what it reads, and what re-runs when those files change. */
export interface CopyUse extends Omit<ContextCopy, 'runs'> {
  files: number;
  bytes: number;
  /** The files it reads that changed most often across the recorded builds. */
  churn: FileChurn[];
  /** RUN steps after it in its stage (they re-run when it misses), with their last duration when recorded. */
  after: { label: string; instruction: string; durationMs?: number }[];
}

/** `tsbuild context` and the build report's context section. Plain data. */
export interface ContextReport {
  sent: { files: number; bytes: number };
  /** What .dockerignore keeps out: counted files, and the directories excluded whole that were not walked (`dir/`). */
  excluded: { files: number; bytes: number; parts: ContextPart[]; unscanned?: string[] };
  /** What is sent, by top-level directory or file, largest first. */
  parts: ContextPart[];
  largest: { path: string; bytes: number }[];
  suggestions: IgnoreSuggestion[];
  copies: CopyUse[];
  /** How many recorded builds of this Dockerfile the churn figures come from. */
  builds: number;
}

/**
 * One recorded build's view of the context: each context path its COPY keys read (or a group of them) → its digest,
 * and how long each step that ran (missed) took, by Dockerfile line. `files` is a Map: the same keys added to 30 plain
 * objects cost V8 a hidden class per key and object (~15 MB for a 20,000-file context). `filesDigest`, when known,
 * stands for `files` (equal digests: equal maps), so two builds with the same context are compared without reading
 * `files`, which may be loaded only when read (a getter).
 */
export interface ContextSnapshot { readonly files: ReadonlyMap<string, string>; filesDigest?: string; durations: Record<number, number> }

/** What the usual suspects look like, in `.dockerignore` syntax and as a test on a context path. */
const SUSPECTS: { pattern: string; matches: (path: string) => boolean }[] = [
  ...['.git', 'node_modules', 'dist', 'build', 'target'].map((d) => {
    const prefix = `${d}/`;   // made once: a template string per file per suspect was most of the suggestions' time
    return { pattern: d, matches: (p: string) => p.startsWith(prefix) || p === d };
  }),
  { pattern: '**/*.log', matches: (p: string) => p.endsWith('.log') },
];

const LARGEST = 10;
const CHURN = 5;

/**
 * The context report of `files` (scanned with the .dockerignore applied) for the Dockerfile `dockerfileText`, with
 * churn from `history` (this Dockerfile's recorded builds, oldest first). Pure.
 */
export function contextReport(scan: ContextScan, dockerfileText: string, dockerfilePath: string, history: ContextSnapshot[]): ContextReport {
  const { files, unscanned } = scan;
  const copies = contextCopies(dockerfileText, dockerfilePath);
  const sent = files.filter((f) => !f.isExcluded);
  const excluded = files.filter((f) => f.isExcluded);
  const tests = copies.map((c) => ({ c, reads: readsTest(c) }));
  // One pass over the sent files: who reads each, by its index in `sent` (most files: nobody or the same one copy),
  // and each copy's totals. An array, not a Map by path: 20,000 entries of a Map were a tenth of a big context's
  // no-op build (its inserts, then its garbage).
  const none: ContextCopy[] = [];
  const readersAt: ContextCopy[][] = new Array<ContextCopy[]>(sent.length);
  const read = new Map<ContextCopy, { files: number; bytes: number }>(copies.map((c) => [c, { files: 0, bytes: 0 }]));
  for (let i = 0; i < sent.length; i++) {
    const f = sent[i] as ContextFile;
    let by = none;
    for (const t of tests) {
      if (!t.reads(f.path)) continue;
      by = by === none ? [t.c] : [...by, t.c];
      const n = read.get(t.c);
      if (n !== undefined) { n.files++; n.bytes += f.bytes; }
    }
    readersAt[i] = by;
  }
  const churn = churnOf(history);
  // The readers of a churned path (few, and none in a build whose files did not change): only a sent file has any.
  let sentIndex: Map<string, number> | undefined;
  const readersOf = (path: string): ContextCopy[] => {
    sentIndex ??= new Map(sent.map((f, i) => [f.path, i]));
    const i = sentIndex.get(path);
    return i === undefined ? none : readersAt[i] ?? none;
  };
  const lastDuration = (line: number): number | undefined => [...history].reverse().find((h) => h.durations[line] !== undefined)?.durations[line];
  return {
    sent: totals(sent),
    excluded: { ...totals(excluded), parts: partsOf(excluded, () => none), ...(unscanned.length > 0 ? { unscanned } : {}) },
    parts: partsOf(sent, (i) => readersAt[i] ?? none),
    largest: largestOf(sent, LARGEST).map((f) => ({ path: f.path, bytes: f.bytes })),
    suggestions: suggestionsOf(sent, readersAt),
    copies: copies.map((c) => {
      const { runs, ...copy } = c;
      return {
        ...copy, ...(read.get(c) ?? { files: 0, bytes: 0 }),
        churn: churn.filter((x) => readersOf(x.path).includes(c)).slice(0, CHURN),
        after: runs.map((r) => {
          const ms = lastDuration(r.line);
          return { label: r.label, instruction: r.instruction, ...(ms !== undefined ? { durationMs: ms } : {}) };
        }),
      };
    }),
    builds: history.length,
  };
}

/** Larger first, then by path: the first `n` of that order, without sorting all 20,000 files of a big context. */
function largestOf(files: ContextFile[], n: number): ContextFile[] {
  const before = (a: ContextFile, b: ContextFile): boolean => a.bytes > b.bytes || (a.bytes === b.bytes && a.path < b.path);
  const top: ContextFile[] = [];
  for (const f of files) {
    const last = top[top.length - 1];
    if (top.length === n && last !== undefined && !before(f, last)) continue;
    let i = top.length;
    while (i > 0 && before(f, top[i - 1] as ContextFile)) i--;
    top.splice(i, 0, f);
    if (top.length > n) top.pop();
  }
  return top;
}

function totals(files: ContextFile[]): { files: number; bytes: number } {
  return { files: files.length, bytes: files.reduce((n, f) => n + f.bytes, 0) };
}

/** A top-level directory as `name/`, a top-level file as its name. */
function partOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(0, slash + 1);
}

/** The top-level parts of `files`, with their readers (`readersAt`: by index in `files`), largest first. */
function partsOf(files: ContextFile[], readersAt: (i: number) => ContextCopy[]): ContextPart[] {
  const parts = new Map<string, ContextPart>();
  // Files come grouped by directory: while they stay under the last part (a `name/`), no name is cut and looked up.
  let last: ContextPart | undefined;
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as ContextFile;
    let part = last !== undefined && last.path.endsWith('/') && f.path.startsWith(last.path) ? last : undefined;
    if (part === undefined) {
      const name = partOf(f.path);
      part = parts.get(name);
      if (part === undefined) {
        part = { path: name, files: 0, bytes: 0, readBy: [] };
        parts.set(name, part);
      }
    }
    last = part;
    part.files++;
    part.bytes += f.bytes;
    for (const c of readersAt(i)) if (!part.readBy.includes(c.label)) part.readBy.push(c.label);
  }
  return [...parts.values()].sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1));
}

/** Whether a context path is read by a source: it or one of its parent directories matches the source. */
type SourceTest = (path: string) => boolean;

/**
 * The test of one COPY source. A source without glob characters (most are) is a path compare: matchesGlob compiles
 * its pattern on every call, which cost ~40 ms of every build of a 20,000-file context.
 */
function sourceTest(src: string): SourceTest {
  const s = cleanPathForContext(src);
  if (s === '.' || s === '') return () => true;
  if (!/[*?[\\{}()!+@]/.test(s)) return (path) => path === s || (path.startsWith(s) && path.charCodeAt(s.length) === 47 /* '/' */);
  return (path) => {
    const segments = path.split('/');
    for (let i = 1; i <= segments.length; i++) if (matchesGlob(segments.slice(0, i).join('/'), s)) return true;
    return false;
  };
}

/** True when COPY `c` reads the context file `path`: a source names it, a parent directory of it, or is `.`. */
function readsTest(c: ContextCopy): SourceTest {
  const tests = c.sources.map(sourceTest);
  return (path) => tests.some((t) => t(path));
}

function suggestionsOf(sent: ContextFile[], readersAt: ContextCopy[][]): IgnoreSuggestion[] {
  const out: IgnoreSuggestion[] = [];
  for (const s of SUSPECTS) {
    const at: number[] = [];
    for (let i = 0; i < sent.length; i++) if (s.matches((sent[i] as ContextFile).path)) at.push(i);
    if (at.length === 0) continue;
    const hit = at.map((i) => sent[i] as ContextFile);
    const by = at.flatMap((i) => readersAt[i] ?? []);
    if (by.some((c) => !c.isBroad)) continue;   // a COPY names it: the image needs it
    out.push({ pattern: s.pattern, ...totals(hit), sweptBy: [...new Set(by.map((c) => c.label))] });
  }
  return out;
}

/** Per file, how many times its digest changed from one recorded build to the next, most first. */
function churnOf(history: ContextSnapshot[]): FileChurn[] {
  const changes = new Map<string, number>();
  for (let i = 1; i < history.length; i++) {
    const [b, n] = [history[i - 1], history[i]];
    if (b?.filesDigest !== undefined && b.filesDigest === n?.filesDigest) continue;   // the same files: no change
    const before = b?.files ?? new Map<string, string>();
    const now = n?.files ?? new Map<string, string>();
    // Each side once (no Set of their union per pair of builds).
    const changed = (path: string): void => { changes.set(path, (changes.get(path) ?? 0) + 1); };
    for (const [path, digest] of now) if (before.get(path) !== digest) changed(path);
    for (const path of before.keys()) if (!now.has(path)) changed(path);
  }
  return [...changes].map(([path, n]) => ({ path, changes: n })).sort((a, b) => b.changes - a.changes || (a.path < b.path ? -1 : 1));
}

/**
 * What .dockerignore kept out, as the reports say it: `12 files, 3.0 kB`, then the directories excluded whole that a
 * build did not walk (`12 files, 3.0 kB and node_modules/ (not walked)`, or only those when nothing was counted).
 */
export function excludedText(c: ContextReport, bytes: (n: number) => string): string {
  const dirs = c.excluded.unscanned ?? [];
  const counted = `${c.excluded.files} files, ${bytes(c.excluded.bytes)}`;
  if (dirs.length === 0) return counted;
  const named = `${dirs.slice(0, 3).join(', ')}${dirs.length > 3 ? ` and ${dirs.length - 3} more` : ''} (not walked)`;
  return c.excluded.files === 0 ? named : `${counted} and ${named}`;
}
