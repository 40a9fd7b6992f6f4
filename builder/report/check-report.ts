import type { Report } from './model.js';
import { TITLES } from './render-markdown.js';

// A report someone else wrote (a CI job's --report file, one attached to an image, a bundle's layer) is read by the
// renderers and by `explain --against`, which take its fields as they are: a step without `reasons`, or a key whose
// `op` is not JSON, would end in a TypeError inside them. Its shape is checked first, field by field, for what they
// read; extra fields are left alone (a newer tsbuild may add some).

/** Where `value` is not a schemaVersion 1 report as the renderers read it (`steps[3].reasons`), or undefined. */
export function reportShapeError(value: unknown): string | undefined {
  const r = value as Record<string, unknown> | null;
  if (!isObject(r) || r['schemaVersion'] !== 1) return 'schemaVersion is not 1';
  return first([
    () => check(r['build'], 'build', BUILD),
    () => check(r['totals'], 'totals', TOTALS),
    () => each(r['steps'], 'steps', stepError),
    () => each(r['advice'], 'advice', (a, at) => check(a, at, ADVICE) ?? check((a as Record<string, unknown>)['suggestion'], `${at}.suggestion`, SUGGESTION)
      ?? (ADVICE_KINDS.includes((a as Record<string, unknown>)['kind'] as string) ? undefined : `${at}.kind`)),
    () => (r['context'] === undefined ? undefined : contextError(r['context'], 'context')),
  ]);
}

/** The report in `value`, or throws `fail(where)`. */
export function checkedReport(value: unknown, fail: (where: string) => Error): Report {
  const where = reportShapeError(value);
  if (where !== undefined) throw fail(where);
  return value as Report;
}

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'strings' | 'string?' | 'number?' | 'object?' | 'strings?' | 'record';
type Shape = Record<string, Kind>;

const BUILD: Shape = { id: 'string', started: 'string', finished: 'string', durationMs: 'number', status: 'string', args: 'record', tags: 'strings', names: 'strings', dockerfile: 'string?', target: 'string?', resultDigest: 'string?' };
const TOTALS: Shape = { steps: 'number', cached: 'number', missed: 'number', missedMs: 'number', newLayerBytes: 'number' };
const STEP: Shape = { id: 'string', stage: 'object', keyword: 'string', instruction: 'string', cached: 'boolean', rootCauses: 'strings', startMs: 'number', endMs: 'number', durationMs: 'number', size: 'number', location: 'object?', cacheRef: 'string?', key: 'object?', error: 'string?' };
const STAGE: Shape = { index: 'number', name: 'string?' };
const LOCATION: Shape = { file: 'string', line: 'number', endLine: 'number', label: 'string' };
const ADVICE: Shape = { kind: 'string', severity: 'string', message: 'string', steps: 'strings', suggestion: 'object', savedMs: 'number' };
/** The advice kinds the pages have a title for (render-markdown.ts TITLES). */
const ADVICE_KINDS: readonly string[] = Object.keys(TITLES);
const SUGGESTION: Shape = { text: 'string', before: 'string?', after: 'string?' };
const KEY: Shape = { vertex: 'string', locator: 'string', key: 'string', parts: 'object', files: 'object?', truncated: 'strings?' };
const PARTS: Shape = { v: 'number', op: 'string', opText: 'string', inputs: 'strings', content: 'record', args: 'record', platform: 'string' };
const CHANGE: Shape = { path: 'string', before: 'string?', after: 'string?', mode: 'object?' };

function stepError(step: unknown, at: string): string | undefined {
  const s = step as Record<string, unknown>;
  return first([
    () => check(step, at, STEP),
    () => check(s['stage'], `${at}.stage`, STAGE),
    () => (s['location'] === undefined ? undefined : check(s['location'], `${at}.location`, LOCATION)),
    () => each(s['reasons'], `${at}.reasons`, reasonError),
    () => (s['key'] === undefined ? undefined : keyError(s['key'], `${at}.key`)),
  ]);
}

/** Each kind of MissReason (solver/explain-miss.ts) and the fields of it the sentences and pages are made of. */
const REASONS: Record<string, Shape> = {
  new: { recipe: 'object?' }, evicted: {}, 'no-cache': { flag: 'string?' },
  instruction: { before: 'string', after: 'string' },
  arg: { name: 'string', before: 'string?', after: 'string?' },
  base: { ref: 'string', before: 'string', after: 'string' },
  parent: { vertex: 'string', text: 'string' },
  content: { source: 'string', count: 'number' },
  platform: { before: 'string', after: 'string' },
  setting: { setting: 'string', name: 'string?', before: 'string?', after: 'string?' },
  options: { options: 'strings' },
};

function reasonError(entry: unknown, at: string): string | undefined {
  const e = entry as Record<string, unknown>;
  if (!isObject(e) || typeof e['text'] !== 'string') return `${at}.text`;
  const reason = e['reason'] as Record<string, unknown>;
  const shape = isObject(reason) && typeof reason['kind'] === 'string' && Object.hasOwn(REASONS, reason['kind']) ? REASONS[reason['kind']] : undefined;
  if (shape === undefined) return `${at}.reason.kind`;
  return check(reason, `${at}.reason`, shape)
    ?? (reason['kind'] === 'new' && reason['recipe'] !== undefined ? check(reason['recipe'], `${at}.reason.recipe`, { before: 'number', after: 'number' }) : undefined)
    // The changed files of a content miss, which the pages list one by one.
    ?? (reason['kind'] === 'content' ? each(reason['changes'], `${at}.reason.changes`, (c, cAt) => check(c, cAt, CHANGE) ?? modeError(c, cAt)) : undefined);
}

function modeError(change: unknown, at: string): string | undefined {
  const mode = (change as Record<string, unknown>)['mode'];
  return mode === undefined ? undefined : check(mode, `${at}.mode`, { before: 'number', after: 'number' });
}

function keyError(key: unknown, at: string): string | undefined {
  const parts = (): Record<string, unknown> => (key as Record<string, unknown>)['parts'] as Record<string, unknown>;
  return first([
    () => check(key, at, KEY),
    () => check(parts(), `${at}.parts`, PARTS),
    // explain compares ops field by field: each one a JSON object, as tsbuild writes it.
    () => (isJsonObject(parts()['op']) ? undefined : `${at}.parts.op`),
  ]);
}

const CONTEXT: Shape = { sent: 'object', excluded: 'object', builds: 'number' };
const AMOUNT: Shape = { files: 'number', bytes: 'number' };
const PART: Shape = { path: 'string', files: 'number', bytes: 'number', readBy: 'strings' };
const LARGEST: Shape = { path: 'string', bytes: 'number' };
const IGNORE: Shape = { pattern: 'string', files: 'number', bytes: 'number', sweptBy: 'strings' };
const COPY: Shape = { label: 'string', line: 'number', instruction: 'string', sources: 'strings', isBroad: 'boolean', files: 'number', bytes: 'number' };
const CHURN: Shape = { path: 'string', changes: 'number' };
const AFTER: Shape = { label: 'string', instruction: 'string', durationMs: 'number?' };

/** The build context section (`tsbuild context`'s report), as the Markdown and HTML pages read it. */
function contextError(context: unknown, at: string): string | undefined {
  const c = context as Record<string, unknown>;
  const excluded = (): Record<string, unknown> => c['excluded'] as Record<string, unknown>;
  // Each check runs only once those before it passed: `c` is an object by the time a field of it is read.
  return first([
    () => check(context, at, CONTEXT),
    () => check(c['sent'], `${at}.sent`, AMOUNT),
    () => check(excluded(), `${at}.excluded`, { ...AMOUNT, unscanned: 'strings?' }),
    () => each(excluded()['parts'], `${at}.excluded.parts`, (p, pAt) => check(p, pAt, PART)),
    () => each(c['parts'], `${at}.parts`, (p, pAt) => check(p, pAt, PART)),
    () => each(c['largest'], `${at}.largest`, (p, pAt) => check(p, pAt, LARGEST)),
    () => each(c['suggestions'], `${at}.suggestions`, (p, pAt) => check(p, pAt, IGNORE)),
    () => each(c['copies'], `${at}.copies`, (u, uAt) => {
      const use = u as Record<string, unknown>;
      return check(u, uAt, COPY) ?? each(use['churn'], `${uAt}.churn`, (x, xAt) => check(x, xAt, CHURN)) ?? each(use['after'], `${uAt}.after`, (x, xAt) => check(x, xAt, AFTER));
    }),
  ]);
}

function check(value: unknown, at: string, shape: Shape): string | undefined {
  if (!isObject(value)) return at;
  const v = value as Record<string, unknown>;
  for (const [field, kind] of Object.entries(shape)) {
    if (!fits(v[field], kind)) return `${at}.${field}`;
  }
  return undefined;
}

function fits(value: unknown, kind: Kind): boolean {
  if (kind.endsWith('?') && value === undefined) return true;
  switch (kind.replace('?', '')) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'boolean': return typeof value === 'boolean';
    case 'object': return isObject(value);
    case 'strings': return Array.isArray(value) && value.every((s) => typeof s === 'string');
    default: return isObject(value) && Object.values(value as object).every((s) => typeof s === 'string');   // record
  }
}

function each(list: unknown, at: string, item: (value: unknown, at: string) => string | undefined): string | undefined {
  if (!Array.isArray(list)) return at;
  for (const [i, value] of list.entries()) {
    const wrong = item(value, `${at}[${i}]`);
    if (wrong !== undefined) return wrong;
  }
  return undefined;
}

function first(checks: (() => string | undefined)[]): string | undefined {
  for (const c of checks) {
    const wrong = c();
    if (wrong !== undefined) return wrong;
  }
  return undefined;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJsonObject(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    return isObject(JSON.parse(text));
  } catch {
    return false;
  }
}
