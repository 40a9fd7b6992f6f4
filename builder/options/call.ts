import { UserError } from '../../common/index.js';
import { flagFields } from './csv-attrs.js';
import { parseBool } from './output.js';

// `--call` as buildx reads it (util/buildflags ParseCallFunc): CSV fields (csvvalue), one bare name and the
// `format=` and `ignorestatus=` attributes; `check` is buildx's alias of BuildKit's `lint`; `build` is no call at all.

/** What `--call` asks for instead of a build. */
export interface CallFunc {
  name: 'lint' | 'targets' | 'outline';
  /** `json`: print BuildKit's result object as JSON; otherwise the text buildx prints. */
  format: 'text' | 'json';
  /** `ignorestatus=true`: exit 0 even when the check found something. */
  ignoreStatus: boolean;
}

const NAMES = new Set(['lint', 'targets', 'outline']);

/** The call of `--call VALUE` (or `--check`), undefined for a build. */
export function parseCallFunc(value: string | undefined): CallFunc | undefined {
  if (value === undefined || value === '') return undefined;
  let name: string | undefined;
  let format = '';
  let ignoreStatus = false;
  for (const field of flagFields('--call', value)) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      if (name !== undefined) throw new UserError('INVALID_ARGUMENT', `invalid --call value ${JSON.stringify(value)}: two methods`, 'give one method: --call=check, --call=outline or --call=targets, optionally with ,format=json');
      name = field;
      continue;
    }
    const key = field.slice(0, eq);
    const v = field.slice(eq + 1);
    if (key === 'format') format = v;
    else if (key === 'ignorestatus') ignoreStatus = parseBool(v, false, '--call ignorestatus');
    else throw new UserError('INVALID_ARGUMENT', `invalid --call field ${JSON.stringify(field)}`, 'the attributes are format=json and ignorestatus=true');
  }
  if (name === 'check') name = 'lint';
  if (name === undefined || name === 'build') return undefined;
  if (!NAMES.has(name)) throw new UserError('INVALID_ARGUMENT', `--call ${name} is not a method tsbuild knows`, 'use --call=build, check, outline or targets');
  if (format !== '' && format !== 'json') throw new UserError('INVALID_ARGUMENT', `--call format ${JSON.stringify(format)} is not supported`, 'use format=json, or leave it out for text');
  return { name: name as CallFunc['name'], format: format === 'json' ? 'json' : 'text', ignoreStatus };
}
