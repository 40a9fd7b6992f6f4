import { REDACTED, isSecretName, type VertexId } from '../../frontend/index.js';
import { explainMiss, type MissReason } from '../../solver/index.js';
import { describeReason, shownPath, valueText, type Report, type ReportStep } from '../report/index.js';
import type { StepKey } from './key-manifest.js';

/** How a step fared on each side. */
export type StepOutcome = 'missed here, hit there' | 'hit here, missed there' | 'missed on both' | 'hit on both';

/** One reason two steps' keys differ: the data, and its sentence. */
export interface ComparedReason { reason: MissReason; text: string }

/** One step whose key or outcome differs between the two builds. */
export interface ComparedStep {
  locator: string;
  instruction: string;
  location?: string;
  outcome: StepOutcome;
  here: { vertex: VertexId; cached: boolean; key: string };
  there: { vertex: VertexId; cached: boolean; key: string };
  sameKey: boolean;
  /** What differs in the key's ingredients, `there` → `here` (explainMiss over the two key manifests). */
  reasons: ComparedReason[];
  /** True when this step differs on its own, not only because a parent did. */
  isRootCause: boolean;
}

/** `tsbuild explain --against`: this build against another machine's (or another build's) report. */
export interface Comparison {
  here: { id: string; source: string };
  there: { id: string; source: string };
  /** Steps present on both sides with the same key and outcome. */
  same: number;
  steps: ComparedStep[];
  /** Steps (locators) only one side has, e.g. after a Dockerfile edit. */
  onlyHere: string[];
  onlyThere: string[];
  /**
   * True when no step past a FROM has the same instruction on both sides: most likely two different Dockerfiles (a
   * report of another project), whose steps were paired by position only.
   */
  unrelated: boolean;
}

interface KeyedStep { step: ReportStep; key: StepKey }

/**
 * Compares two reports step by step (matched by locator: Dockerfile base name, stage, position) and, for each step
 * that hit on one side and missed on the other or missed on both with different keys, says which ingredient
 * differs: explainMiss(there, here), the same function that explains a local miss. Pure.
 */
export function compareBuilds(here: Report, hereSource: string, there: Report, thereSource: string): Comparison {
  const mine = keyedSteps(here);
  const theirs = keyedSteps(there);
  const byKey = new Map(mine.map((s) => [s.key.key, s]));
  const theirsByLocator = new Map(theirs.map((s) => [s.key.locator, s]));
  const mineLocators = new Set(mine.map((s) => s.key.locator));
  const steps: ComparedStep[] = [];
  let same = 0;
  for (const h of mine) {
    const t = theirsByLocator.get(h.key.locator);
    if (t === undefined) continue;
    const sameKey = t.key.key === h.key.key;
    if (sameKey && t.step.cached === h.step.cached) { same++; continue; }
    const reasons = sameKey ? [] : explainMiss(t.key.parts, h.key.parts, {
      parents: h.key.parts.inputs.map((d) => {
        const p = byKey.get(d);
        return { id: p?.step.id ?? d, text: p?.step.instruction ?? '' };
      }),
      ...(h.step.keyword === 'FROM' ? { ref: h.step.instruction.split(/\s+/)[1] ?? '' } : {}),
      ...(t.key.files ? { filesBefore: t.key.files } : {}),
      ...(h.key.files ? { filesNow: h.key.files } : {}),
    });
    const shown = reasons.map(redactReason);
    steps.push({
      locator: h.key.locator,
      instruction: h.step.instruction.split('\n')[0] ?? '',
      ...(h.step.location ? { location: h.step.location.label } : {}),
      outcome: outcomeOf(h.step.cached, t.step.cached),
      here: { vertex: h.step.id, cached: h.step.cached, key: h.key.key },
      there: { vertex: t.step.id, cached: t.step.cached, key: t.key.key },
      sameKey,
      reasons: shown.map((reason) => ({ reason, text: describeDifference(reason) })),
      isRootCause: !sameKey && reasons.some((r) => r.kind !== 'parent'),
    });
  }
  return {
    here: { id: here.build.id, source: hereSource },
    there: { id: there.build.id, source: thereSource },
    same,
    steps,
    onlyHere: mine.filter((s) => !theirsByLocator.has(s.key.locator)).map((s) => s.key.locator),
    onlyThere: theirs.filter((s) => !mineLocators.has(s.key.locator)).map((s) => s.key.locator),
    unrelated: shareNoInstruction(mine, theirs),
  };
}

function shareNoInstruction(mine: KeyedStep[], theirs: KeyedStep[]): boolean {
  const texts = (steps: KeyedStep[]): string[] => steps.filter((s) => s.step.keyword !== 'FROM').map((s) => s.step.instruction);
  const theirTexts = new Set(texts(theirs));
  const myTexts = texts(mine);
  return myTexts.length > 0 && theirTexts.size > 0 && !myTexts.some((t) => theirTexts.has(t));
}

function keyedSteps(report: Report): KeyedStep[] {
  const out: KeyedStep[] = [];
  for (const step of report.steps) if (step.key !== undefined) out.push({ step, key: step.key });
  return out;
}

function outcomeOf(hereCached: boolean, thereCached: boolean): StepOutcome {
  if (hereCached) return thereCached ? 'hit on both' : 'hit here, missed there';
  return thereCached ? 'missed here, hit there' : 'missed on both';
}

/** A secret-looking arg or ENV never shows a value, not even its digest: only that it differs. */
function redactReason(reason: MissReason): MissReason {
  const secret = (reason.kind === 'arg' && isSecretName(reason.name)) || (reason.kind === 'setting' && reason.name !== undefined && isSecretName(reason.name));
  if (!secret) return reason;
  const out = { ...reason };
  if (out.before !== undefined) out.before = REDACTED;
  if (out.after !== undefined) out.after = REDACTED;
  return out;
}

const short = (d: string | undefined): string => (d === undefined ? '(absent)' : d.slice(0, 19));

/** One line per difference; files are listed with both digests, there → here. */
export function describeDifference(reason: MissReason): string {
  switch (reason.kind) {
    case 'content': {
      if (reason.unlisted) return `files differ in ${reason.source} (no per-file digests recorded on one side)`;
      const files = reason.changes.map((c) => `${shownPath(c.path)} ${short(c.before)} → ${short(c.after)}`);
      const more = reason.count > reason.changes.length ? `; ${reason.count - reason.changes.length} more` : '';
      return `files differ in ${reason.source}: ${files.join('; ')}${more}`;
    }
    case 'arg':
      if (reason.before === REDACTED || reason.after === REDACTED) return `build arg ${reason.name} differs (secret-looking name: values not shown)`;
      return `build arg ${reason.name} differs: ${valueText(reason.before)} → ${valueText(reason.after)}`;
    case 'base': return `base image ${reason.ref} differs: ${reason.before} → ${reason.after}`;
    case 'parent': return `parent step differs: ${reason.text.split('\n')[0] ?? ''}`;
    case 'evicted': return 'same key on both sides';
    case 'new': return 'the key recipe differs (another tsbuild version)';
    default: return describeReason(reason).replace(' changed: ', ' differs: ');
  }
}

/** The comparison as text: one block per differing step, then a summary line. */
export function renderComparison(c: Comparison): string {
  const lines = [`explain: build ${c.here.id} (${c.here.source}) against build ${c.there.id} (${c.there.source})`];
  if (c.unrelated) lines.push('note: the two builds have no instruction in common (past FROM): they look like builds of different Dockerfiles, and their steps are paired by position only');
  for (const s of c.steps) {
    lines.push(`${s.location ? `${s.location} ` : ''}${s.instruction}    ${s.outcome}`);
    if (s.sameKey) {
      lines.push(`    same key on both sides: ${s.here.cached ? 'the other side' : 'this root'} did not have the result${s.here.cached ? '' : ' (share it with --cache-to/--cache-from)'}`);
    }
    for (const r of s.reasons) lines.push(`    ${r.text}`);
  }
  const roots = c.steps.filter((s) => s.isRootCause).map((s) => s.location ?? s.locator);
  lines.push(`${c.same + c.steps.length} steps compared: ${c.same} the same, ${c.steps.length} differ${roots.length ? ` (first cause: ${roots.join(', ')})` : ''}`);
  if (c.onlyHere.length) lines.push(`only in this build: ${c.onlyHere.join(', ')}`);
  if (c.onlyThere.length) lines.push(`only in the other build: ${c.onlyThere.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
