import { parseDockerfile } from './parser/parse-dockerfile.js';
import { prevComments } from './prev-comments.js';

// `--call=targets` (BuildKit's targets subrequest, dockerfile2llb ListTargets): every stage with its name, base, and
// description, the last one the default. A stage's description is its doc comment: among the comment lines between
// the previous instruction and its FROM (an empty `#` starts them over, parser directives are not comments), the
// first that reads `# <name> <text>`, as BuildKit's getDocComment finds it.

/** One stage as `--call=targets` lists it. */
export interface Target {
  name: string; description: string; base: string; isDefault: boolean; line: number;
  /** The FROM instruction's last line. */
  endLine: number;
  /** FROM's `--platform` as written ('' without one). */
  platform: string;
}

/** The stages of a Dockerfile, in order, as BuildKit's ListTargets gives them. Throws DockerfileError. */
export function listTargets(text: string, file = 'Dockerfile'): Target[] {
  const df = parseDockerfile(text, file);
  const lines = text.split(/\r?\n/);
  const directiveLines = new Set(df.directives.map((d) => d.location.line));
  const froms = df.instructions.filter((i) => i.keyword === 'FROM');
  return froms.map((inst, k) => {
    const name = inst.args.length === 3 ? (inst.args[2] ?? '').toLowerCase() : '';
    const platform = inst.flags.find((f) => f.name === 'platform')?.value ?? '';
    return {
      name, description: docComment(lines, inst.location.line, directiveLines, name), base: inst.args[0] ?? '',
      isDefault: k === froms.length - 1, line: inst.location.line, endLine: inst.location.endLine, platform,
    };
  });
}

/**
 * The doc comment of `name` at line `at` (1-based): among the comments right above it (prevComments), the first that
 * reads `<name> <text>` gives the text (BuildKit's getDocComment, for stages and ARGs).
 */
export function docComment(lines: string[], at: number, directiveLines: Set<number>, name: string): string {
  if (name === '') return '';
  return prevComments(lines, at, directiveLines).find((c) => c.startsWith(`${name} `))?.slice(name.length + 1) ?? '';
}

/** The targets as buildx prints them (BuildKit's PrintTargets: a tabwriter table, padding 1). */
export function formatTargets(targets: Target[]): string {
  const rows: [string, string][] = [['TARGET', 'DESCRIPTION'], ...targets.map((t): [string, string] => [
    t.isDefault ? (t.name === '' ? '(default)' : `${t.name} (default)`) : t.name, t.description,
  ])];
  const width = Math.max(...rows.map(([n]) => n.length)) + 1;
  return rows.map(([n, d]) => `${n.padEnd(width)}${d}\n`).join('');
}

/**
 * BuildKit's targets.List for `--call=targets,format=json`: Go's field order, empty fields left out, the Dockerfile
 * as the one source (base64, as Go writes bytes).
 */
export function targetsResult(targets: Target[], text: string): { targets: Record<string, unknown>[]; sources: string[] } {
  return {
    targets: targets.map((t) => ({
      ...(t.name !== '' ? { name: t.name } : {}),
      ...(t.isDefault ? { default: true } : {}),
      ...(t.description !== '' ? { description: t.description } : {}),
      ...(t.base !== '' ? { base: t.base } : {}),
      ...(t.platform !== '' ? { platform: t.platform } : {}),
      location: { ranges: [{ start: { line: t.line }, end: { line: Math.max(t.line, t.endLine) } }] },
    })),
    sources: [Buffer.from(text, 'utf8').toString('base64')],
  };
}
