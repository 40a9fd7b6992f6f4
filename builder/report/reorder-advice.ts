import type { FileChange } from '../../solver/index.js';
import type { Advice } from './advice.js';
import { ecosystemOf, isManifest } from './dependency-manifests.js';
import { copyArgs, runCommand } from './instruction-text.js';
import type { Report, ReportStep } from './model.js';

/** A RUN this long (or this share of the build) is worth keeping cached. */
export const EXPENSIVE_MS = 1000;
export const EXPENSIVE_SHARE = 0.2;
const MIN_SHARE_MS = 250;

/** True for a missed RUN that cost enough to be worth an advice. */
export function isExpensive(step: ReportStep, buildMs: number): boolean {
  if (step.cached || step.keyword !== 'RUN') return false;
  return step.durationMs > EXPENSIVE_MS || (step.durationMs >= MIN_SHARE_MS && step.durationMs > EXPENSIVE_SHARE * buildMs);
}

/**
 * The classic Dockerfile mistake: `COPY . .` then `RUN npm ci`. Any source edit invalidates the COPY, and with it the
 * install, though the install reads only package*.json. Finds each expensive RUN whose misses all trace back to a
 * broad COPY that changed only in files the RUN does not obviously need, and suggests copying the manifests first.
 */
export function reorderAdvice(report: Report): Advice[] {
  const byId = new Map(report.steps.map((s) => [s.id, s]));
  const out: Advice[] = [];
  for (const step of report.steps) {
    if (!isExpensive(step, report.build.durationMs)) continue;
    const roots = step.rootCauses.map((id) => byId.get(id));
    const copy = roots[0];
    if (roots.length !== 1 || copy === undefined || copy.id === step.id || copy.stage.index !== step.stage.index) continue;
    const advice = adviceFor(report, step, copy);
    if (advice) out.push(advice);
  }
  return out;
}

function adviceFor(report: Report, run: ReportStep, copy: ReportStep): Advice | undefined {
  const args = copyArgs(copy.instruction);
  const changes = contentChanges(copy);
  if (args === undefined || args.hasFrom || changes === undefined || !isBroad(args.sources, changes)) return undefined;
  const command = runCommand(run.instruction) ?? '';
  const ecosystem = ecosystemOf(command);
  if (ecosystem === undefined) return undefined;   // a build step, not an install: it likely reads the sources
  const { manifests } = ecosystem;
  if (changes.some((c) => isManifest(c.path, manifests))) return undefined;   // the install had to re-run anyway
  const parts = installParts(command, ecosystem.command);
  if (parts === undefined) return undefined;   // install and other commands interleaved: no safe reordering to offer
  // A RUN that names a changed file reads it: the install part must not.
  if (changes.some((c) => parts.install.includes(c.path) || parts.install.includes(c.path.split('/').at(-1) ?? c.path))) return undefined;

  const between = stageSteps(report, copy, run).map((s) => s.instruction);
  const before = [copy.instruction, ...between, run.instruction];
  const flags = (/^\s*(?:COPY|ADD)\s+((?:--(?:chown|chmod|link)\S*\s+)*)/i.exec(copy.instruction)?.[1] ?? '').trim();
  const firstCopy = manifests.length > 0 ? [['COPY', flags, ...manifests, dirDest(args.dest)].filter((w) => w !== '').join(' ')] : [];
  // `npm ci && npm run build`: the install moves before the broad COPY, the build stays after it, in a RUN of its own.
  const runFlags = (/^\s*RUN\s+((?:--\S+\s+)*)/i.exec(run.instruction)?.[1] ?? '');
  const installRun = parts.rest === undefined ? run.instruction : `RUN ${runFlags}${parts.install}`;
  const after = [...firstCopy, ...between, installRun, copy.instruction, ...(parts.rest === undefined ? [] : [`RUN ${runFlags}${parts.rest}`])];
  const changed = changes.slice(0, 3).map((c) => c.path).join(', ') + (changes.length > 3 ? ` and ${changes.length - 3} more` : '');
  const seconds = (run.durationMs / 1000).toFixed(1);
  const at = (s: ReportStep) => (s.location ? ` (${s.location.label})` : '');
  const what = (manifests.length > 0
    ? `copy the ${ecosystem.name} manifests (${manifests.join(' ')}) first, run the install, then copy the rest`
    : 'it installs system packages and needs nothing from the context: run it before the COPY')
    + (parts.rest === undefined ? '' : `, and run \`${oneLine(parts.rest, 60)}\` after it in a RUN of its own`);
  return {
    kind: 'reorder-copy',
    severity: 'warning',
    message: `\`${oneLine(run.instruction)}\`${at(run)} took ${seconds} s and re-ran only because \`${oneLine(copy.instruction)}\`${at(copy)} copied changed files it does not obviously need (${changed}).`,
    steps: [copy.id, run.id],
    suggestion: { text: `Reorder: ${what}. Edits to your sources then leave the install cached.`, before: before.join('\n'), after: after.join('\n') },
    savedMs: run.durationMs,
  };
}

// Commands that prepare or clean up around an install and read nothing from the build context.
const SETUP = /^(?:set\s+-\S+|cd\s+\S+|mkdir\s|export\s|true|:|apt-get\s+(?:-\S+\s+)*(?:update|clean)\b|apt\s+update\b|apk\s+update\b|rm\s+-r?f\s+\/(?:var\/lib\/apt\/lists|var\/cache|tmp|root\/\.npm|root\/\.cache)\S*|npm\s+config\s|yarn\s+config\s|corepack\s+enable\b)/;

/**
 * A RUN's shell command cut into the install (with the set-up and clean-up around it) and what follows it (`rest`,
 * undefined when nothing does), at `&&`, `;` and new lines; undefined when other commands come before or between the
 * install commands, where no split keeps the order the RUN had.
 */
function installParts(command: string, install: RegExp): { install: string; rest?: string } | undefined {
  const segments = command.split(/\s*(?:&&|;|\n)\s*/).map((s) => s.trim()).filter((s) => s !== '');
  const kinds = segments.map((s) => (install.test(s) ? 'install' : SETUP.test(s) ? 'setup' : 'other'));
  const firstOther = kinds.indexOf('other');
  if (firstOther < 0) return { install: command };
  if (!kinds.slice(0, firstOther).includes('install') || kinds.slice(firstOther).includes('install')) return undefined;
  return { install: segments.slice(0, firstOther).join(' && '), rest: segments.slice(firstOther).join(' && ') };
}

/** The changed files of a COPY that missed for content reasons only; undefined if anything else changed. */
function contentChanges(copy: ReportStep): FileChange[] | undefined {
  const reasons = copy.reasons.map((r) => r.reason);
  if (reasons.length === 0 || reasons.some((r) => r.kind !== 'content' && r.kind !== 'parent')) return undefined;
  const changes = reasons.flatMap((r) => (r.kind === 'content' ? r.changes : []));
  return changes.length > 0 ? changes : undefined;
}

/** `.`, a directory (`src/`, or a source the changed files sit under), or a bare wildcard. */
function isBroad(sources: string[], changes: FileChange[]): boolean {
  return sources.some((source) => {
    const s = source.replace(/^\.\//, '').replace(/\/+$/, '');
    if (s === '' || s === '.' || s === '*' || source.endsWith('/')) return true;
    return changes.some((c) => c.path.startsWith(`${s}/`));
  });
}

/** The steps of the same stage strictly between two steps, in Dockerfile order. */
function stageSteps(report: Report, from: ReportStep, to: ReportStep): ReportStep[] {
  const stage = report.steps.filter((s) => s.stage.index === from.stage.index);
  const a = stage.indexOf(from);
  const b = stage.indexOf(to);
  return a >= 0 && b > a ? stage.slice(a + 1, b) : [];
}

/** Several sources need a directory destination: `.` → `./`, `/app` → `/app/`. */
function dirDest(dest: string): string {
  return dest.endsWith('/') ? dest : `${dest}/`;
}

/** An instruction on one line, shortened for a sentence. */
export function oneLine(text: string, max = 80): string {
  const flat = text.replace(/\\\n\s*/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
