import type { Dockerfile, Instruction } from './ast.js';

// The parse tree as BuildKit's parser prints it (parser.Node.Dump, as in the `result` files of its parser corpus):
// one s-expression per instruction, `(copy ["--from=a"] "src" "/dst")`. Lets a user (or scripts/buildkit-corpus.ts)
// diff tsbuild's reading of a Dockerfile against BuildKit's. Like BuildKit's dump it shows neither heredoc bodies nor
// whether an argument list was written as JSON; ENV and LABEL pairs are `"key" "value" "="`, with `""` in place of
// the `=` for the legacy `ENV key value` form.
// Where the output can differ from BuildKit's, on purpose: the HEALTHCHECK type prints upper-case (`cmd` → "CMD", the
// tree keeps it normalised); non-ASCII flags print as written, where BuildKit's byte-wise flag splitter
// (extractBuilderFlags) turns each UTF-8 byte into a character of its own; lines BuildKit's parser keeps but its
// instruction parser refuses (unknown flags or instructions, a bare HEALTHCHECK) are refused here already.

/** The whole Dockerfile in BuildKit's dump format, one line per instruction. */
export function dumpDockerfile(df: Dockerfile): string {
  return df.instructions.map((inst) => `${dumpInstruction(inst)}\n`).join('');
}

/** One instruction as BuildKit's dump prints it, parentheses included. */
export function dumpInstruction(inst: Instruction): string {
  let out = inst.keyword.toLowerCase();
  if (inst.flags.length > 0) out += ` [${inst.flags.map((f) => goQuote(f.raw)).join(' ')}]`;
  if (inst.trigger) return `(${out} ${dumpInstruction(inst.trigger)})`;
  for (const word of argNodes(inst)) out += ` ${goQuote(word)}`;
  return `(${out})`;
}

// BuildKit's parser keeps ENV/LABEL as key, value, separator triples; every other instruction's nodes are its args.
function argNodes(inst: Instruction): string[] {
  if (inst.keyword !== 'ENV' && inst.keyword !== 'LABEL') return inst.args;
  const sep = inst.legacyKeyValue ? '' : '=';
  return inst.args.flatMap((pair) => {
    const eq = pair.indexOf('=');
    return [pair.slice(0, eq), pair.slice(eq + 1), sep];
  });
}

const NAMED_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote: what BuildKit's dump (`%q`, strconv.Quote) writes for a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const named = NAMED_ESCAPES[ch];
    const code = ch.codePointAt(0) ?? 0;
    if (named !== undefined) out += named;
    else if (PRINTABLE.test(ch)) out += ch;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
