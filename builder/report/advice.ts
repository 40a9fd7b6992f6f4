import type { VertexId } from '../../frontend/index.js';
import { changeText } from './describe-reason.js';
import type { Report, ReportStep } from './model.js';
import { oneLine, reorderAdvice } from './reorder-advice.js';

/** One thing the user could change to make the next build hit the cache more. Plain data. */
export interface Advice {
  kind: 'reorder-copy' | 'late-arg' | 'pin-base' | 'no-cache' | 'file-modes';
  severity: 'warning' | 'info';
  message: string;
  /** The steps the advice is about, the cause first. */
  steps: VertexId[];
  /** What to do; `before`/`after` are Dockerfile snippets made of the build's own lines. */
  suggestion: { text: string; before?: string; after?: string };
  /** Roughly how much build time following it would have saved this time. */
  savedMs: number;
}

/** A changed build arg is worth an advice when it invalidated at least this many steps. */
export const ARG_MIN_STEPS = 2;

/** Every advice for a build, most time saved first. Pure: reads the report, plus the Dockerfile lines if known. */
export function adviseBuild(report: Report, lines?: readonly string[]): Advice[] {
  const all = [...reorderAdvice(report), ...argAdvice(report, lines), ...baseAdvice(report), ...noCacheAdvice(report), ...modeAdvice(report)];
  return all.sort((a, b) => b.savedMs - a.savedMs);
}

/** Missed steps whose cause chain leads back to one of `roots`. */
function invalidatedBy(report: Report, roots: Set<VertexId>): ReportStep[] {
  return report.steps.filter((s) => !s.cached && s.rootCauses.some((id) => roots.has(id)));
}

/**
 * A build arg changed and invalidated steps that do not use it: everything after an ARG gets it in its environment,
 * so a RUN misses even if it never reads the arg. Declaring the ARG right before its first real use keeps them cached.
 */
function argAdvice(report: Report, lines: readonly string[] | undefined): Advice[] {
  const out: Advice[] = [];
  const names = new Set(report.steps.flatMap((s) => s.reasons.flatMap(({ reason }) => (reason.kind === 'arg' ? [reason.name] : []))));
  for (const name of names) {
    const argSteps = report.steps.filter((s) => s.reasons.some(({ reason }) => reason.kind === 'arg' && reason.name === name));
    const invalidated = invalidatedBy(report, new Set(argSteps.map((s) => s.id)));
    const first = argSteps[0];
    if (first === undefined || invalidated.length < ARG_MIN_STEPS) continue;
    const stage = first.stage.index;
    const use = report.steps.find((s) => s.stage.index === stage && mentions(s.instruction, name));
    const stageSteps = report.steps.filter((s) => s.stage.index === stage);
    const upTo = use ? stageSteps.indexOf(use) : stageSteps.length;
    const needless = invalidated.filter((s) => s.stage.index === stage && stageSteps.indexOf(s) < upTo);
    const savedMs = needless.reduce((t, s) => t + s.durationMs, 0);
    if (needless.length === 0) continue;
    const reason = first.reasons.find(({ reason: r }) => r.kind === 'arg' && r.name === name);
    const declared = declaration(lines, name, first.location?.line) ?? `ARG ${name}`;
    const shown = needless.slice(0, 3).map((s) => s.instruction);
    const gap = needless.length > 3 ? ['# …'] : [];
    const useLines = use ? [use.instruction] : [];
    out.push({
      kind: 'late-arg',
      severity: savedMs > 1000 ? 'warning' : 'info',
      message: `${reason?.text ?? `build arg ${name} changed`}: ${invalidated.length} steps re-ran, ${needless.length} of them before anything uses $${name}.`,
      steps: [...new Set([first.id, ...invalidated.map((s) => s.id)])],
      suggestion: {
        text: use
          ? `Declare \`ARG ${name}\` later, right before its first use (\`${oneLine(use.instruction, 60)}\`): steps above it stop depending on its value.`
          : `No step mentions $${name}: declare \`ARG ${name}\` only where it is needed (or drop it), so a new value does not invalidate unrelated steps.`,
        before: [declared, ...shown, ...gap, ...useLines].join('\n'),
        after: [...shown, ...gap, declared, ...useLines].join('\n'),
      },
      savedMs,
    });
  }
  return out;
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`\\$\\{?${name.replace(/[^A-Za-z0-9_]/g, '')}\\b`).test(text);
}

/** The `ARG NAME[=default]` line declared last before `line` (when the Dockerfile is known). */
function declaration(lines: readonly string[] | undefined, name: string, line: number | undefined): string | undefined {
  if (lines === undefined) return undefined;
  const limit = Math.min(line ?? lines.length, lines.length);
  const pattern = new RegExp(`^\\s*ARG\\s+${name}(=|\\s|$)`, 'i');
  for (let i = limit - 1; i >= 0; i--) if (pattern.test(lines[i] ?? '')) return (lines[i] ?? '').trim();
  return undefined;
}

/** FROM resolved to a new image: pin it by digest so rebuilds only change when you decide. */
function baseAdvice(report: Report): Advice[] {
  const out: Advice[] = [];
  for (const step of report.steps) {
    for (const { reason, text } of step.reasons) {
      if (reason.kind !== 'base' || reason.ref.includes('@sha256:')) continue;
      const invalidated = invalidatedBy(report, new Set([step.id]));
      const pinned = step.instruction.replace(reason.ref, `${reason.ref.replace(/@.*$/, '')}@${reason.after}`);
      out.push({
        kind: 'pin-base',
        severity: 'info',
        message: `${text}: ${invalidated.length} steps re-ran because the tag now points to another image.`,
        steps: [step.id, ...invalidated.filter((s) => s.id !== step.id).map((s) => s.id)],
        suggestion: {
          text: 'Pin the base image by digest, and update the digest on purpose (e.g. with Renovate or Dependabot).',
          before: step.instruction,
          after: pinned === step.instruction ? `FROM ${reason.ref}@${reason.after}` : pinned,
        },
        savedMs: invalidated.reduce((t, s) => t + s.durationMs, 0),
      });
    }
  }
  return out;
}

/**
 * A COPY missed only because files' permission bits differ from the build it is compared with (Worker.withModeChanges
 * named each old mode): the same bytes, checked out under another umask. The usual cause of a CI runner missing what
 * a laptop built, or the reverse; git records only the executable bit, so the checkout's umask decides the rest.
 */
function modeAdvice(report: Report): Advice[] {
  const out: Advice[] = [];
  for (const step of report.steps) {
    for (const { reason } of step.reasons) {
      // Every changed file listed, and each one's mode alone: a file whose content changed too reruns the step anyway.
      if (reason.kind !== 'content' || reason.changes.length === 0 || reason.count !== reason.changes.length) continue;
      if (reason.changes.some((c) => c.mode === undefined)) continue;
      const invalidated = invalidatedBy(report, new Set([step.id]));
      const shown = reason.changes.slice(0, 3).map((c) => `${c.path} ${changeText(c)}`).join(', ');
      const more = reason.count > 3 ? ` and ${reason.count - 3} more` : '';
      out.push({
        kind: 'file-modes',
        severity: 'info',
        message: `${oneLine(step.instruction, 60)} missed only because files' permission bits differ (${shown}${more}); their content is the same.`,
        steps: [step.id, ...invalidated.filter((s) => s.id !== step.id).map((s) => s.id)],
        suggestion: {
          text: 'The two checkouts were made under different umasks (git keeps only the executable bit). Check out with the same umask on both sides (`umask 022` before cloning), or make the modes the same before building (e.g. `chmod -R go-w .`).',
        },
        savedMs: invalidated.reduce((t, s) => t + s.durationMs, 0),
      });
    }
  }
  return out;
}

/** --no-cache (or --no-cache-filter) forced steps to run. */
function noCacheAdvice(report: Report): Advice[] {
  const flags = report.steps.flatMap((s) => s.reasons.flatMap(({ reason }) => (reason.kind === 'no-cache' ? [reason.flag ?? '--no-cache'] : [])));
  const forced = report.steps.filter((s) => s.reasons.some(({ reason }) => reason.kind === 'no-cache'));
  if (forced.length === 0) return [];
  const savedMs = forced.reduce((t, s) => t + s.durationMs, 0);
  const flag = flags.find((f) => f === '--no-cache') ?? flags[0] ?? '--no-cache';
  return [{
    kind: 'no-cache',
    severity: 'info',
    message: `${flag} forced ${forced.length} steps to run (${(savedMs / 1000).toFixed(1)} s).`,
    steps: forced.map((s) => s.id),
    suggestion: { text: flag === '--no-cache'
      ? 'Drop --no-cache unless you need a fresh build; to refresh one stage only, use --no-cache-filter STAGE.'
      : `Drop ${flag} unless that stage must be built afresh: the steps built on it run again too.` },
    savedMs,
  }];
}
