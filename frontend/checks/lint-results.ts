import type { CheckWarning } from './rules.js';
import { ruleDescription, ruleUrl } from './rule-docs.js';

// `--call=check` as buildx shows it. BuildKit answers the lint subrequest with a LintResults object
// (frontend/subrequests/lint): `format=json` prints it as Go marshals it (two-space indent, empty fields left out,
// byte fields base64, `<>&` escaped); the text form is buildx's printResult over it: a count line, then per finding
// `WARNING: Rule - URL`, the message, and the lines around it as BuildKit's errdefs.Source prints a source range.

/** One line range of a source, BuildKit's pb.Range with only lines (a build check names whole instructions). */
export interface LintRange { start: { line: number }; end: { line: number } }

/** BuildKit's lint.Warning. */
export interface LintWarning {
  ruleName: string;
  description?: string;
  url?: string;
  detail: string;
  location: { ranges: LintRange[] };
}

/** BuildKit's lint.LintResults for one Dockerfile (its only source: `sourceIndex` 0, which Go leaves out). */
export interface LintResults {
  warnings: LintWarning[];
  sources: { filename: string; data: string; language: 'Dockerfile' }[];
}

/** The results of `warnings` found in `text`, a Dockerfile BuildKit knows as `filename` (its base name). */
export function lintResults(warnings: CheckWarning[], text: string, filename: string): LintResults {
  return {
    warnings: warnings.map((w) => {
      const description = ruleDescription(w.rule);
      const url = ruleUrl(w.rule);
      return {
        ruleName: w.rule,
        ...(description !== undefined ? { description } : {}),
        ...(url !== undefined ? { url } : {}),
        detail: w.message,
        location: { ranges: [{ start: { line: w.line }, end: { line: Math.max(w.endLine, w.line) } }] },
      };
    }),
    sources: [{ filename, data: Buffer.from(text, 'utf8').toString('base64'), language: 'Dockerfile' }],
  };
}

/**
 * The text `--call=check` prints: `Check complete, …` first (with findings), then lintViolationsText; `Check complete,
 * no warnings found.` without. `displayName` is the Dockerfile as the user named it (buildx prints the -f path as
 * given, else CONTEXT/Dockerfile).
 */
export function formatLintText(results: LintResults, text: string, displayName: string): string {
  const n = results.warnings.length;
  if (n === 0) return 'Check complete, no warnings found.\n';
  return `Check complete, ${n === 1 ? '1 warning has' : `${n} warnings have`} been found!\n${lintViolationsText(results, text, displayName)}`;
}

/** Each finding by line (stable): `WARNING: Rule - URL`, its message, the source around it (BuildKit's PrintLintViolations). */
export function lintViolationsText(results: LintResults, text: string, displayName: string): string {
  const lines = text.split('\n');
  const sorted = [...results.warnings].sort((a, b) => (a.location.ranges[0]?.start.line ?? 0) - (b.location.ranges[0]?.start.line ?? 0));
  let out = '';
  for (const w of sorted) {
    out += `\nWARNING: ${w.ruleName}${w.url !== undefined ? ` - ${w.url}` : ''}\n${w.detail}\n`;
    out += sourceSnippet(lines, w.location.ranges, displayName);
  }
  return out;
}

/**
 * The lines of `ranges` with context, BuildKit's errdefs.Source.Print: two lines around a range (four around a
 * single line, taken alternately before and after while there are any), `>>>` on the lines in a range.
 */
function sourceSnippet(lines: string[], ranges: LintRange[], name: string): string {
  if (ranges.length === 0) return '';
  let start = Math.min(...ranges.map((r) => r.start.line));
  let end = Math.max(...ranges.map((r) => Math.max(r.start.line, r.end.line)));
  if (start < 1 || start > lines.length) return '';
  end = Math.min(end, lines.length);
  const first = start;
  const pad = start === end ? 4 : 2;
  for (let p = 0; p < pad;) {
    if (start > 1) { start--; p++; }
    if (end !== lines.length) { end++; p++; }
    p++;
  }
  const marked = (l: number): boolean => ranges.some((r) => r.start.line <= l && Math.max(r.start.line, r.end.line) >= l);
  let out = `${name}:${first}\n--------------------\n`;
  for (let i = start; i <= end; i++) out += ` ${String(i).padStart(3)} | ${marked(i) ? '>>>' : '   '} ${lines[i - 1] ?? ''}\n`;
  return `${out}--------------------\n`;
}
