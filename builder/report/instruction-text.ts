// Reading instructions back from what a build record keeps: the history text (`RUN |1 V=1 /bin/sh -c make # buildkit`)
// and, when the Dockerfile is still there, its source lines. The report shows what the user wrote, not history text.

/** The instruction keyword of a step, upper-cased (`RUN`, `COPY`, `FROM` …). */
export function keywordOf(text: string): string {
  return (/^\s*([A-Za-z]+)/.exec(text)?.[1] ?? '').toUpperCase();
}

/**
 * History text made readable: `RUN |1 VERSION=1 /bin/sh -c make # buildkit` → `RUN make`. The `|N k=v` prefix is
 * BuildKit's record of the build args in the RUN's environment; `# buildkit` marks instructions BuildKit created.
 */
export function displayText(historyText: string): string {
  let text = historyText.replace(/\s+# buildkit$/, '');
  const run = /^RUN\s+(.*)$/s.exec(text);
  if (run?.[1] !== undefined) {
    let rest = run[1];
    const argCount = /^\|(\d+)\s+/.exec(rest);
    if (argCount?.[1] !== undefined) {
      rest = rest.slice(argCount[0].length);
      for (let i = 0; i < Number(argCount[1]); i++) rest = rest.replace(/^\S+=\S*\s*/, '');
    }
    text = `RUN ${rest.replace(/^\/bin\/sh -c\s+/, '')}`;
  }
  return text;
}

/**
 * The instruction as written in the Dockerfile (continuation lines kept), when `lines` holds the range and its
 * first word is the same keyword; a Dockerfile edited since the build falls back to the history text.
 */
export function sourceText(lines: readonly string[] | undefined, line: number, endLine: number, keyword: string): string | undefined {
  if (lines === undefined || line < 1 || endLine < line || endLine > lines.length) return undefined;
  const text = lines.slice(line - 1, endLine).join('\n').trimEnd();
  return keywordOf(text) === keyword ? text : undefined;
}

/** The shell command of a RUN instruction (display or source text), without flags; undefined for other steps. */
export function runCommand(instruction: string): string | undefined {
  if (keywordOf(instruction) !== 'RUN') return undefined;
  let rest = instruction.replace(/^\s*RUN\s+/i, '');
  while (/^--\S+\s+/.test(rest)) rest = rest.replace(/^--\S+\s+/, '');
  return rest.replace(/\\\n/g, ' ');
}

/** The sources and destination of a COPY or ADD (shell or JSON form), flags dropped. */
export function copyArgs(instruction: string): { sources: string[]; dest: string; hasFrom: boolean } | undefined {
  const keyword = keywordOf(instruction);
  if (keyword !== 'COPY' && keyword !== 'ADD') return undefined;
  let rest = instruction.replace(/^\s*(COPY|ADD)\s+/i, '').replace(/\\\n/g, ' ').trim();
  let hasFrom = false;
  while (rest.startsWith('--')) {
    const flag = /^--(\S+)\s*/.exec(rest);
    if (!flag) break;
    if (flag[1]?.startsWith('from=') === true) hasFrom = true;
    rest = rest.slice(flag[0].length);
  }
  let words: string[];
  if (rest.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(rest);
      words = Array.isArray(parsed) ? parsed.map(String) : [];
    } catch { words = rest.split(/\s+/); }
  } else {
    words = rest.split(/\s+/).filter((w) => w !== '');
  }
  const dest = words.at(-1);
  if (dest === undefined || words.length < 2) return undefined;
  return { sources: words.slice(0, -1), dest, hasFrom };
}

/** The stage name of a FROM line (`FROM node:22 AS deps` → `deps`). */
export function stageNameOf(fromText: string): string | undefined {
  return /\sAS\s+(\S+)\s*$/i.exec(fromText)?.[1]?.toLowerCase();
}

/** `/abs/path/Dockerfile:5`, shortened to the base name: the form editors and CI annotations link. */
export function locationLabel(file: string, line: number): string {
  return `${file.split('/').at(-1) ?? file}:${line}`;
}
