import { isSecretName, REDACTED } from '../../frontend/index.js';
import { isRedacted, type MissReason } from '../../solver/index.js';
import { redactText } from '../../common/index.js';

// Values this short are too likely to occur by chance ("1", "yes") to be cut out of free text; they are still
// redacted wherever their name stands beside them (`NAME=value`, the args map, arg and ENV miss reasons).
const MIN_SCRUBBED_LENGTH = 4;

/** Something that carries the build args it was built with: a BuildRecord, a BuildSummary. */
export interface WithArgs { args: Record<string, string> }

/**
 * A copy of a build record (or summary) safe to store, print, render or attach: the values of build args whose names
 * look secret (`isSecretName`, the one rule) become `<redacted>` in the args map, in `arg` and ENV `setting` miss
 * reasons of such names, in `NAME=value` text (RUN's `|N K=v` history prefix, `ENV API_TOKEN=…`), and — for values
 * of 4 characters or more — wherever else they appear as text (an ENV set from the arg, an error message).
 */
export function redactRecord<T extends WithArgs>(record: T): T {
  if (redacted.has(record)) return record;   // made here, in this process: redacting it again changes nothing
  const scrub = textRedactor(record);
  const copy = { ...(deepMap(record, scrub) as T) };
  copy.args = Object.fromEntries(Object.entries(record.args).map(([k, v]) => [k, isSecretName(k) ? REDACTED : scrub(v)]));
  const vertices = (copy as { vertices?: unknown }).vertices;
  if (Array.isArray(vertices)) {
    // New vertex objects: deepMap may have handed back the record's own.
    (copy as { vertices?: unknown }).vertices = (vertices as { reasons?: MissReason[] }[])
      .map((v) => (Array.isArray(v.reasons) ? { ...v, reasons: v.reasons.map(redactReason) } : v));
  }
  redacted.add(copy);
  return copy;
}

/**
 * What redactRecord does to each string of `record`, for text kept beside it (its steps' output, stored with it): the
 * values of its secret-named build args (4 characters or more), secret-named `NAME=value` assignments, URL credentials.
 */
export function textRedactor(record: WithArgs): (text: string) => string {
  // A value that is already a digest (cache key parts since recipe v2: solver/secret-parts.ts) is no secret to cut
  // out of the text: cutting it would break the key manifest's parts, which must compare equal across machines.
  const secrets = [...Object.entries(record.args), ...reasonValues(record)].filter(([name, value]) => isSecretName(name) && value !== '' && value !== REDACTED && !isRedacted(value));
  const known = scrubber(secrets);
  // Most strings of a record (digests, paths) hold no `=`: no assignment to look for in them. A URL's credentials
  // (a proxy build arg `http://user:pass@proxy`, an ADD source) go too (redactText).
  return (text) => {
    const out = redactText(known(text));
    return out.includes('=') ? redactAssignments(out) : out;
  };
}

/**
 * The copies redactRecord made: a build's record is redacted to be stored, and its report (built from the same
 * object, buildReport) would redact it again, a deep copy of the whole record (~40 KB) for nothing. Only objects
 * made here are skipped, and nothing writes into them afterwards (the builder stores and reports them as they are).
 */
const redacted = new WeakSet<object>();

/** A miss reason with the values of secret-named build args and ENV variables replaced by `<redacted>`. */
export function redactReason(reason: MissReason): MissReason {
  if (reason.kind === 'arg' && isSecretName(reason.name)) return hideValues(reason);
  if (reason.kind === 'setting' && reason.name !== undefined && isSecretName(reason.name)) return hideValues(reason);
  if (reason.kind === 'instruction') return { ...reason, before: redactAssignments(redactText(reason.before)), after: redactAssignments(redactText(reason.after)) };
  if (reason.kind === 'parent') return { ...reason, text: redactAssignments(redactText(reason.text)) };
  if (reason.kind === 'arg' || reason.kind === 'setting') {
    return { ...reason, ...(reason.before !== undefined ? { before: redactText(reason.before) } : {}), ...(reason.after !== undefined ? { after: redactText(reason.after) } : {}) };
  }
  return reason;
}

// The values a record's own miss reasons name for secret-named args and ENV variables: the previous build's value
// is known only there (the args map holds this build's), and it may also appear in an instruction's old text.
function reasonValues(record: WithArgs): [string, string][] {
  const out: [string, string][] = [];
  const vertices = (record as { vertices?: unknown }).vertices;
  if (!Array.isArray(vertices)) return out;
  for (const v of vertices as { reasons?: MissReason[] }[]) {
    for (const r of v.reasons ?? []) {
      const name = r.kind === 'arg' ? r.name : r.kind === 'setting' ? r.name : undefined;
      if (name === undefined || (r.kind !== 'arg' && r.kind !== 'setting')) continue;
      if (r.before !== undefined) out.push([name, r.before]);
      if (r.after !== undefined) out.push([name, r.after]);
    }
  }
  return out;
}

// `NAME=value` for a secret-looking NAME anywhere in text (`ENV API_TOKEN=…`, RUN's `|N GITHUB_TOKEN=… …` history
// prefix): the value is cut by its name even when it is not known, e.g. in the text of an earlier build. An unquoted
// value runs to the next blank, as in the RUN prefix, where values are written raw.
const ASSIGNMENT = /(^|[\s"'|;&(])([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g;

/** An instruction as a report shows it: secret-named `NAME=value` values and URL credentials cut out. */
export function redactInstruction(text: string): string {
  return redactAssignments(redactText(text));
}

function redactAssignments(text: string): string {
  return text.replace(ASSIGNMENT, (whole, lead: string, name: string, value: string) => (isSecretName(name) && value !== REDACTED ? `${lead}${name}=${REDACTED}` : whole));
}

function hideValues<R extends { before?: string; after?: string }>(reason: R): R {
  const out = { ...reason };
  if (out.before !== undefined) out.before = REDACTED;
  if (out.after !== undefined) out.after = REDACTED;
  return out;
}

function scrubber(secrets: [string, string][]): (text: string) => string {
  if (secrets.length === 0) return (text) => text;
  // Longest first, so a value that contains another is cut whole.
  const ordered = [...secrets].sort((a, b) => b[1].length - a[1].length);
  return (text) => {
    let out = text;
    for (const [name, value] of ordered) {
      out = out.split(`${name}=${value}`).join(`${name}=${REDACTED}`);
      if (value.length >= MIN_SCRUBBED_LENGTH) out = out.split(value).join(REDACTED);
    }
    return out;
  };
}

/**
 * `value` with `scrub` applied to every string in it, sharing whatever it leaves unchanged: an array or object is copied
 * only when something in it changed. A record's key manifest holds a digest per file a COPY read (93 KB of JSON for a
 * COPY of node_modules), none of which changes: copied whole, it was 7–10 ms of every build (CPU profile of the
 * bench's ts-multistage no-op). Nothing writes into a redacted record (see `redacted`), so sharing is safe.
 */
function deepMap(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((v: unknown, i) => {
      const mapped = deepMap(v, scrub);
      if (mapped !== v) (out ??= [...value])[i] = mapped;
    });
    return out ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const mapped = deepMap(v, scrub);
      // A key may be a URL too (an ADD source's files in the key manifest): its credentials go, the path keys stay.
      const key = k.includes('@') ? redactText(k) : k;
      if (key !== k) {
        out ??= { ...value };
        delete out[k];
        out[key] = mapped;
      } else if (mapped !== v) (out ??= { ...value })[k] = mapped;
    }
    return out ?? value;
  }
  return value;
}
