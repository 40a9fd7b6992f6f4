import { basename } from 'node:path';
import { cleanPath, parseDockerfile } from '../../frontend/index.js';

/** A COPY or ADD that reads the build context (no `--from`), as written. */
export interface ContextCopy {
  /** `Dockerfile:LINE`. */
  label: string;
  line: number;
  instruction: string;
  /** Its sources, context-relative, as written (globs kept). */
  sources: string[];
  /** Copies the whole context (`COPY . .`): any file change makes it, and every step after it, miss. */
  isBroad: boolean;
  /** The RUN steps after it in the same stage: they re-run whenever it misses. */
  runs: { label: string; line: number; instruction: string }[];
}

/** The context COPY/ADD instructions of a Dockerfile, in order. Heredoc and URL sources are not context reads. */
export function contextCopies(text: string, file: string): ContextCopy[] {
  const name = basename(file);
  const out: ContextCopy[] = [];
  let stage: ContextCopy[] = [];
  for (const ins of parseDockerfile(text, file).instructions) {
    const label = `${name}:${ins.location.line}`;
    const instruction = ins.original.split('\n')[0] ?? '';
    if (ins.keyword === 'FROM') stage = [];
    else if (ins.keyword === 'RUN') for (const c of stage) c.runs.push({ label, line: ins.location.line, instruction });
    else if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && !ins.flags.some((f) => f.name === 'from')) {
      const sources = ins.args.slice(0, -1).filter((s) => !s.startsWith('<<') && !/^[a-z]+:\/\//i.test(s));
      if (sources.length === 0) continue;
      const copy: ContextCopy = {
        label, line: ins.location.line, instruction, sources,
        isBroad: sources.some((s) => ['.', '*'].includes(cleanPathForContext(s))), runs: [],
      };
      out.push(copy);
      stage.push(copy);
    }
  }
  return out;
}

/**
 * A context source as a glob over context-relative paths: no leading `./` or `/`, no trailing `/`, and cleaned from
 * the context root as BuildKit cleans it (`../a` and `sub/../../a` read `a`; worker/fileops/select-sources.ts).
 */
export function cleanPathForContext(source: string): string {
  const s = cleanPath(`/${source}`).slice(1);
  return s === '' ? '.' : s;
}
