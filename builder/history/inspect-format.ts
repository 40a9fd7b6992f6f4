import { UserError } from '../../common/index.js';
import type { BuildRecord } from '../../solver/index.js';
import { inspectGoValue, inspectOutput } from './inspect.js';
import { inspectPretty } from './inspect-text.js';
import { TemplateError, executeTemplate, parseTemplate, type Template } from '../imagetools/go-template.js';
import { marshalIndent } from '../imagetools/go-value.js';

// `history inspect --format` as buildx's runInspect picks its output: `json` is the inspectOutput through a
// json.Encoder with two-space indents, `pretty` (the default) the text, anything else a text/template over the
// inspectOutput, printed with a newline after it. buildx knows no other word: `--format raw` is a template that
// prints "raw", here as there.

const FIELDS_HINT = "the fields are buildx's inspect output: .Name, .Ref, .Context, .Dockerfile, .Target, .Platform, .StartedAt, .CompletedAt, .Duration, .Status, .Error, .NumCompletedSteps, .NumTotalSteps, .NumCachedSteps, .BuildArgs, .Labels, .Config …; e.g. --format '{{.Status}} {{.NumCachedSteps}}/{{.NumTotalSteps}}'";

/** The inspect output of a (redacted) record in `format`. `refGiven`: a REF was named (pretty omits the Ref line). */
export async function renderInspect(record: BuildRecord, format: string, opts: { refGiven: boolean; logsCommand: string; cwd?: string }): Promise<string> {
  const out = inspectOutput(record, opts.cwd ?? process.cwd());
  if (format === 'json') return `${marshalIndent(inspectGoValue(out))}\n`;
  if (format === 'pretty') return inspectPretty(out, opts, record.vertices);
  let template: Template;
  try { template = parseTemplate(format); } catch (err) { throw templateFailure('parse', err); }
  try { return `${await executeTemplate(template, inspectGoValue(out))}\n`; } catch (err) { throw templateFailure('execute', err); }
}

/** buildx's wrapping of a template error ("failed to parse format template: …"), with the fields as the hint. */
function templateFailure(stage: 'parse' | 'execute', err: unknown): unknown {
  if (!(err instanceof TemplateError)) return err;
  return new UserError('TEMPLATE_FAILED', `failed to ${stage} format template: ${err.message.replace(/^--format: /, '')}`, FIELDS_HINT, { cause: err });
}
