import { goJson } from '../../common/index.js';
import { parseCallFunc } from '../options/call.js';
import { definitionDoc } from './print.js';
import type { Resolved } from './resolve.js';
import type { CallResult } from '../commands/build.js';

// What `bake --call` prints once every target has answered, as buildx's runBake does (commands/bake.go): in target
// name order, each answer under the target's name (and description), a blank line between targets; or, with
// `--call=…,format=json` on the command line, one JSON document: the --print definition with each target as
// {"build": its definition, "check" (or the call's name): its answer}.

/** The text bake prints for `answers` (by target name); `isJson`: the command line asked for format=json. */
export function callOutput(resolved: Resolved, answers: Map<string, CallResult>, isJson: boolean): string {
  if (isJson) {
    const doc = definitionDoc(resolved, (name, build) => {
      const answer = answers.get(name);
      if (answer === undefined) return { build };
      const call = parseCallFunc(resolved.targets[name]?.call)?.name;
      // buildx names BuildKit's `lint` as the user wrote it: check.
      return { build, [call === 'lint' || call === undefined ? 'check' : call]: answer.json };
    });
    return `${goJson(doc)}\n`;
  }
  const parts: string[] = [];
  for (const name of [...answers.keys()].sort()) {
    const description = resolved.targets[name]?.description;
    parts.push(`${name}\n${description ? `${description}\n` : ''}\n${answers.get(name)?.printed ?? ''}`);
  }
  return parts.join('\n');
}
