import type { Dockerfile, Instruction } from '../ast.js';
import { nearest } from '../parser/suggest.js';
import type { CheckWarning } from './rules.js';
import { expandInScope, globalArgScope, type GlobalArgOptions } from '../compile/global-args.js';
import { AUTOMATIC_ARG_NAMES } from '../compile/platform-args.js';

// UndefinedVar (BuildKit's linter): a `$NAME` the frontend expands in an instruction that is neither an ARG declared
// in the stage, an ENV set earlier in the stage or a parent stage (FROM <stage>), a predefined arg, PATH, nor an ENV
// of the stage's base image. RUN, CMD, ENTRYPOINT and HEALTHCHECK are left alone: the shell in the container expands
// those, as in BuildKit. `${NAME:-default}` and the other forms with a fallback are never reported.
//
// The base image's ENV: BuildKit checks with the image config it has resolved. The checks here run before a build
// resolves anything, so the caller may pass the base images' ENV names (`baseEnv`, by the FROM reference expanded in
// the global ARG scope as compile expands it: `ARG BASE=debian` + `FROM $BASE` is keyed `debian`, as BuildKit checks
// it with the image it resolved); a stage built on an image whose ENV is not given is not checked at all, since any
// name could come from that image.
// Stages on `scratch` (and stages on them) need no image and are always checked.

/** Names every stage has without declaring them: BuildKit's automatic args, the proxy args and the default PATH. */
const ALWAYS_DEFINED = new Set([
  ...AUTOMATIC_ARG_NAMES,
  'HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy',
  'PATH',
]);

/** Instructions whose words the frontend expands (BuildKit's list of commands with expansion). */
const EXPANDED = new Set(['ADD', 'COPY', 'ENV', 'EXPOSE', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR', 'ARG']);

/** `$NAME` and `${NAME}` without a fallback modifier; `\$NAME` is a literal. */
function plainVars(text: string): string[] {
  return [...text.matchAll(/(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** The names an ENV or ARG instruction sets (`K=v`, or the legacy `ENV K v`). */
function setNames(inst: Instruction): string[] {
  if (inst.keyword === 'ENV' && inst.args.length === 2 && !(inst.args[0] ?? '').includes('=') && !inst.original.includes('=')) return [inst.args[0] ?? ''];
  return inst.args.map((a) => a.split('=')[0] ?? '').filter((n) => n !== '');
}

/** The words of an instruction that are expanded, with the flags that are (`--chown`, `--chmod`; not `--from`). */
function expandedText(inst: Instruction): string {
  const values = inst.keyword === 'ARG' || inst.keyword === 'ENV' || inst.keyword === 'LABEL'
    ? inst.args.map((a) => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : inst.keyword === 'ENV' ? a : ''))
    : inst.args;
  const flags = inst.flags.filter((f) => f.name === 'chown' || f.name === 'chmod').map((f) => f.value ?? '');
  return [...values, ...flags].join(' ');
}

/** Runs UndefinedVar over the stages; `baseEnv` gives the ENV names of base images by FROM reference (expanded with `args`). */
export function undefinedVars(df: Dockerfile, baseEnv: Record<string, string[]> | undefined, args: GlobalArgOptions = {}, replaced: string[] = []): CheckWarning[] {
  const replacedStages = new Set(replaced.map((n) => n.toLowerCase()));
  const out: CheckWarning[] = [];
  const scope = globalArgScope(df, args);
  // Per stage (by lower-cased name): the names it ends with, or undefined when it is not checked.
  const stages = new Map<string, Set<string> | undefined>();
  let known: Set<string> | undefined;
  let stageName: string | undefined;
  const finish = (): void => { if (stageName !== undefined) stages.set(stageName, known); };
  for (const inst of df.instructions) {
    if (inst.keyword === 'FROM') {
      finish();
      const image = expandInScope(inst.args[0] ?? '', scope, df.escapeToken);
      stageName = inst.args[2]?.toLowerCase();
      const parent = stages.has(image.toLowerCase()) ? stages.get(image.toLowerCase()) : undefined;
      if (stageName !== undefined && replacedStages.has(stageName)) known = undefined;
      else if (stages.has(image.toLowerCase())) known = parent === undefined ? undefined : new Set(parent);
      else if (image.toLowerCase() === 'scratch') known = new Set();
      else {
        const env = baseEnv?.[image];
        known = env === undefined ? undefined : new Set(env);
      }
      continue;
    }
    if (known === undefined) continue;
    if (EXPANDED.has(inst.keyword)) {
      for (const name of plainVars(expandedText(inst))) {
        if (known.has(name) || ALWAYS_DEFINED.has(name)) continue;
        // Case-sensitive, as BuildKit's checks search env.Keys() on Linux (validations.go).
        const guess = nearest(name, [...known], { caseSensitive: true });
        out.push({ rule: 'UndefinedVar', message: `Usage of undefined variable '$${name}'${guess ? ` (did you mean $${guess}?)` : ''}`, file: df.file, line: inst.location.line, column: inst.location.column, endLine: inst.location.endLine });
        known.add(name);   // reported once per stage
      }
    }
    if (inst.keyword === 'ENV' || inst.keyword === 'ARG') for (const n of setNames(inst)) known.add(n);
  }
  finish();
  return out;
}
