import type { Flag, Instruction } from '../ast.js';
import type { SourceRange } from '../graph.js';
import { DockerfileError } from '../errors.js';
import { trimSpace } from '../shell/chars.js';
import { FLAG_SPECS, KEYWORDS } from './flag-specs.js';
import type { SourceText } from './source-text.js';
import { nearest } from './suggest.js';
import { extractBuilderFlags, parseJsonArray, parseWords, splitKeyword, splitWhitespace } from './words.js';

/** What building an instruction needs to know about its surroundings. */
export interface LineContext {
  src: SourceText;
  escapeToken: '\\' | '`';
  range: SourceRange;
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/**
 * Turns one logical line into an Instruction (heredoc bodies are attached by the caller), validating its shape.
 * Deliberately stricter than BuildKit's parser.Parse, which keeps unknown instructions, unknown flags and a bare or
 * typeless HEALTHCHECK in its tree for instructions.Parse to refuse a step later: a build fails on them either way, and
 * refusing them here lets `tsbuild check` and `debug parse` point at the line (BuildKit testfiles flags, health).
 */
export function buildInstruction(line: string, ctx: LineContext): Instruction {
  const [word, afterKeyword] = splitKeyword(line);
  const keyword = word.toUpperCase();
  if (!KEYWORDS.includes(keyword)) {
    const guess = nearest(word, KEYWORDS);
    throw new DockerfileError(ctx.src.find(ctx.range, word), `unknown instruction "${word}"`, guess ? `did you mean ${guess}?` : `instructions are ${KEYWORDS.join(', ')}`);
  }
  const { flags: rawFlags, rest: afterFlags } = extractBuilderFlags(afterKeyword, ctx.escapeToken);
  const rest = trimSpace(afterFlags);
  const flags = parseFlags(keyword, rawFlags, ctx);
  const inst: Instruction = { keyword, flags, args: [], json: false, heredocs: [], original: line, location: ctx.range };
  const fail = (message: string, hint?: string, needle = word): never => {
    throw new DockerfileError(ctx.src.find(ctx.range, needle), message, hint);
  };
  const maybeJson = (): void => {
    const parsed = parseJsonArray(rest);
    if (parsed.kind === 'not-strings') fail('when using JSON array syntax, arrays must be comprised of strings only', 'quote every element: ["a", "b"]', '[');
    if (parsed.kind === 'json') {
      inst.args = parsed.values;
      inst.json = true;
    } else if (rest !== '') inst.args = [rest];
  };
  switch (keyword) {
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      maybeJson();
      if (keyword === 'RUN' && inst.args.length === 0) fail('RUN requires at least one argument');
      break;
    case 'SHELL':
      maybeJson();
      if (!inst.json) fail('SHELL requires the arguments to be in JSON form', 'write SHELL ["/bin/bash", "-c"]');
      if (inst.args.length === 0) fail('SHELL requires at least one argument');
      break;
    case 'ADD':
    case 'COPY':
    case 'VOLUME': {
      const parsed = parseJsonArray(rest);
      if (parsed.kind === 'not-strings') fail('when using JSON array syntax, arrays must be comprised of strings only', 'quote every element: ["a", "b"]', '[');
      if (parsed.kind === 'json') {
        inst.args = parsed.values;
        inst.json = true;
      } else inst.args = rest === '' ? [] : splitWhitespace(rest);
      if (keyword === 'VOLUME') {
        if (inst.args.length === 0) fail('VOLUME requires at least one argument');
        if (inst.args.some((v) => trimSpace(v) === '')) fail('VOLUME specified can not be an empty string');
      } else if (inst.args.length < 2) {
        fail(`${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`, `write ${keyword} <src>... <dest>`);
      }
      break;
    }
    case 'FROM':
    case 'EXPOSE':
      inst.args = rest === '' ? [] : splitWhitespace(rest);
      if (keyword === 'EXPOSE' && inst.args.length === 0) fail('EXPOSE requires at least one argument');
      if (keyword === 'FROM') checkFrom(inst.args, fail);
      break;
    case 'ENV':
    case 'LABEL':
      inst.args = parseNameVal(rest, keyword, ctx.escapeToken, fail);
      if (isLegacyKeyValue(rest, ctx.escapeToken)) inst.legacyKeyValue = true;
      break;
    case 'ARG':
      inst.args = parseWords(rest, ctx.escapeToken);
      if (inst.args.length === 0) fail('ARG requires at least one argument', 'write ARG NAME or ARG NAME=default');
      for (const a of inst.args) if (a.startsWith('=')) fail('ARG names can not be blank', undefined, a);
      break;
    case 'MAINTAINER':
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
      if (rest === '') fail(`${keyword} requires exactly one argument`);
      inst.args = [rest];
      break;
    case 'HEALTHCHECK':
      parseHealthcheck(inst, rest, fail);
      break;
    case 'ONBUILD': {
      if (rest === '') fail('ONBUILD requires at least one argument');
      const trigger = buildInstruction(rest, ctx);
      if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(trigger.keyword)) {
        fail(`${trigger.keyword} isn't allowed as an ONBUILD trigger`, undefined, rest);
      }
      inst.args = [rest];
      inst.trigger = trigger;
      break;
    }
  }
  return inst;
}

function checkFrom(args: string[], fail: (m: string, h?: string, n?: string) => never): void {
  const [, as, name] = args;
  if (args.length === 3 && as !== undefined && as.toLowerCase() === 'as' && name !== undefined) {
    if (!STAGE_NAME.test(name.toLowerCase())) {
      fail(`invalid name for build stage: "${name}", name can't start with a number or contain symbols`, 'stage names match [a-z][a-z0-9-_.]*', name);
    }
  } else if (args.length !== 1) {
    fail('FROM requires either one or three arguments', 'write FROM <image> [AS <name>]');
  }
}

// The legacy form is chosen by the first word having no `=` (BuildKit's parseNameVal).
function isLegacyKeyValue(rest: string, escapeToken: string): boolean {
  const first = parseWords(rest, escapeToken)[0];
  return first !== undefined && !first.includes('=');
}

// ENV and LABEL: `k=v k2=v2`, or the legacy `k some value` (one pair, the value is the rest of the line).
function parseNameVal(rest: string, keyword: string, escapeToken: string, fail: (m: string, h?: string, n?: string) => never): string[] {
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) fail(`${keyword} requires at least one argument`);
  const first = words[0] ?? '';
  if (!first.includes('=')) {
    const [key, value] = rest.split(/[\t\v\f\r ]+(.*)/s);
    if (value === undefined || key === undefined) fail(`${keyword} must have two arguments`, `write ${keyword} name=value`);
    return [`${key ?? ''}=${value ?? ''}`];
  }
  for (const w of words) {
    if (!w.includes('=')) fail(`Syntax error - can't find = in "${w}". Must be of the form: name=value`, 'quote values that contain spaces: name="a b"', w);
    if (w.startsWith('=')) fail(`${keyword} names can not be blank`, undefined, w);
  }
  return words;
}

function parseHealthcheck(inst: Instruction, rest: string, fail: (m: string, h?: string, n?: string) => never): void {
  // The type is the first word, the command what follows the blanks after it (BuildKit's parseHealthConfig, whose
  // blanks are unicode.IsSpace: the White_Space property).
  const m = /^(\P{White_Space}+)\p{White_Space}*(.*)$/su.exec(rest);
  if (!m) return fail('HEALTHCHECK requires at least one argument');
  const typeWord = m[1] ?? '';
  const cmd = m[2] ?? '';
  const type = typeWord.toUpperCase();
  if (type === 'NONE') {
    if (cmd !== '') fail('HEALTHCHECK NONE takes no arguments');
    inst.args = ['NONE'];
    return;
  }
  if (type !== 'CMD') fail(`Unknown type "${typeWord}" in HEALTHCHECK (try CMD)`, 'write HEALTHCHECK [options] CMD <command> or HEALTHCHECK NONE', typeWord);
  const parsed = parseJsonArray(cmd);
  if (parsed.kind === 'not-strings') fail('when using JSON array syntax, arrays must be comprised of strings only');
  if (parsed.kind === 'json') {
    inst.json = true;
    inst.args = ['CMD', ...parsed.values];
  } else inst.args = cmd === '' ? ['CMD'] : ['CMD', cmd];
  if (inst.args.length === 1) fail('Missing command after HEALTHCHECK CMD');
}

function parseFlags(keyword: string, raw: string[], ctx: LineContext): Flag[] {
  const spec = FLAG_SPECS[keyword] ?? {};
  const seen = new Set<string>();
  return raw.map((r) => {
    const at = (): SourceRange => ctx.src.find(ctx.range, r, r.split('=')[0] ?? r);
    const body = r.startsWith('--') ? r.slice(2) : r;
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : undefined;
    const kind = spec[name];
    if (kind === undefined) {
      const names = Object.keys(spec);
      // BuildKit's bflag.go words the suggestion with the flag's bare name: `unknown flag: --mont (did you mean mount?)`.
      const guess = nearest(name, names, { caseSensitive: true });
      const hint = guess ? `did you mean ${guess}?` : names.length ? `${keyword} accepts ${names.map((n) => `--${n}`).join(', ')}` : `${keyword} takes no flags`;
      throw new DockerfileError(at(), `unknown flag: --${name}`, hint);
    }
    if (kind === 'bool' && value !== undefined && !['', 'true', 'false'].includes(value.toLowerCase())) {
      throw new DockerfileError(at(), `expecting boolean value for flag ${name}, not: ${value}`, `write --${name} or --${name}=false`);
    }
    if (kind !== 'bool' && value === undefined) throw new DockerfileError(at(), `missing a value on flag: ${name}`, `write --${name}=<value>`);
    if (kind === 'string' && seen.has(name)) throw new DockerfileError(at(), `duplicate flag specified: ${name}`);
    seen.add(name);
    return { name, value, raw: r };
  });
}
